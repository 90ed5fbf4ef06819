"""content-sync/tpkit-rsync against a real rsync daemon on loopback: progress lines, exit codes, delta basis."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from tests.conftest import free_port
from tests.mirror import ROOT, RsyncDaemon

WRAPPER = ROOT / "content-sync" / "tpkit-rsync"


@pytest.fixture
def served(tmp_path):
    (tmp_path / "mirror" / "primary-en").mkdir(parents=True)
    daemon = RsyncDaemon(tmp_path / "mirror", tmp_path).start()
    yield daemon, tmp_path / "mirror" / "primary-en"
    daemon.stop()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(WRAPPER), *args], capture_output=True, text=True, timeout=60)


def test_tpkit_rsync_reports_progress_and_wire_bytes_as_lines(served, tmp_path):
    daemon, folder = served
    (folder / "book.zim").write_bytes(os.urandom(300_000))
    done = run("--bwlimit", "200", f"{daemon.url}/primary-en/book.zim", str(tmp_path / "got" / "book.zim"))
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    progress = [line for line in lines if line[0] == "progress"]
    assert all(len(line) == 4 and all(p.isdigit() for p in line[1:]) for line in progress)
    assert any(0 < int(line[2]) < 100 for line in progress) and progress[-1][1:3] == ["300000", "100"]
    assert any(int(line[3]) > 0 for line in progress)
    received = [int(line[1]) for line in lines if line[0] == "received"]
    assert received and received[0] >= 300_000
    assert (tmp_path / "got" / "book.zim").read_bytes() == (folder / "book.zim").read_bytes()


def test_tpkit_rsync_uses_a_basis_of_another_name_and_never_changes_it(served, tmp_path):
    daemon, folder = served
    old = os.urandom(400_000)
    basis = tmp_path / "content" / "book.zim"
    basis.parent.mkdir()
    basis.write_bytes(old)
    (folder / "book-v2.zim").write_bytes(old[:200_000] + b"an edit" + old[200_000:])
    done = run("--basis", str(basis), f"{daemon.url}/primary-en/book-v2.zim", str(tmp_path / "staging" / "book-v2.zim"))
    assert done.returncode == 0, done.stderr
    received = int(done.stdout.split("received ")[1].split()[0])
    assert received < 50_000  # only the edit and block checksums crossed the wire
    assert (tmp_path / "staging" / "book-v2.zim").read_bytes() == (folder / "book-v2.zim").read_bytes()
    assert hashlib.sha256(basis.read_bytes()).digest() == hashlib.sha256(old).digest()


@pytest.mark.parametrize(
    ("where", "code", "words"),
    [
        ("rsync://127.0.0.1:{free}/tpkit/primary-en/x.zim", 10, "cannot be reached"),
        ("{url}/primary-en/missing.zim", 23, "not on the mirror"),
        ("rsync://127.0.0.1:{port}/nomodule/x.zim", 5, "refused the session"),
    ],
)
def test_tpkit_rsync_keeps_rsyncs_exit_code_and_says_the_fix(served, tmp_path, where, code, words):
    daemon = served[0]
    source = where.format(free=free_port(), url=daemon.url, port=daemon.port)
    done = run("--timeout", "5", "--contimeout", "5", source, str(tmp_path / "got" / "x.zim"))
    assert done.returncode == code
    said = [line for line in done.stderr.splitlines() if line.startswith(("[✗]", "    Fix:"))]
    assert len(said) == 2 and words in said[0] and f"rsync exit {code}" in said[0]


def test_tpkit_rsync_usage_error_is_exit_2():
    done = run("--frobnicate")
    assert done.returncode == 2 and "usage: tpkit-rsync" in done.stderr


def test_tpkit_rsync_resumes_from_the_temporary_file_a_kill_9_left(served, tmp_path):
    daemon, folder = served
    data = os.urandom(600_000)
    (folder / "book.zim").write_bytes(data)
    dest = tmp_path / "staging" / "book.zim"
    dest.parent.mkdir()
    (dest.parent / ".book.zim.Ab12Cd").write_bytes(data[:400_000])  # what rsync had written when it was killed
    (dest.parent / ".book.zim.Zz99Yy").write_bytes(data[:100_000])  # an older, smaller leftover
    done = run(f"{daemon.url}/primary-en/book.zim", str(dest))
    assert done.returncode == 0, done.stderr
    received = int(done.stdout.split("received ")[1].split()[0])
    assert received < 300_000  # the 400 KB on disk were not fetched again
    assert dest.read_bytes() == data
    assert not list(dest.parent.glob(".book.zim.*"))  # both leftovers are gone
