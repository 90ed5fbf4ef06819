"""Where the kiwix-serve the tests and the benchmark compare tpkit with lives, and how to start it.

The reference is kiwix-serve 3.7.0 (libkiwix 14, libzim 9.2) from Debian 13, which `./build.sh test` unpacks
into .cache/kiwix-3.7/ with scripts/kiwix-reference.sh (a private apt state; the system's apt is untouched) and
runs through its own trixie loader. Debian 12's /usr/bin/kiwix-serve 3.3.0 stays installed and can still be
named (`bench/run.py --kiwix 3.3.0`), but no test compares with it any more.

Without the reference a test skips with the fix, except on CI (`CI=true`), where the archive is reachable and a
missing reference is a failure: a parity suite that silently skips there would prove nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "kiwix-reference.sh"
KIWIX_SERVE_3_3 = Path("/usr/bin/kiwix-serve")
START_TIMEOUT_S = 10
INSTALL_FIX = f"Fix: run {SCRIPT.relative_to(ROOT)} (./build.sh test does) with Debian's archive reachable."


@cache
def kiwix_serve_3_7() -> tuple[str, ...] | None:
    """The command prefix that runs kiwix-serve 3.7.0 (loader, --library-path, binary), or None if not unpacked."""
    done = subprocess.run([str(SCRIPT), "--prefix"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    return tuple(done.stdout.splitlines())


def require_kiwix_serve_3_7() -> tuple[str, ...]:
    """kiwix_serve_3_7() for a test: skips with the fix when it is missing, fails instead on CI."""
    import pytest  # only the tests need pytest; bench/run.py imports this module too

    prefix = kiwix_serve_3_7()
    if prefix is not None:
        return prefix
    reason = f"kiwix-serve 3.7.0 reference is not unpacked in .cache/kiwix-3.7. {INSTALL_FIX}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@cache
def opds_client() -> tuple[str, ...] | None:
    """The command that runs tests/kiwix_opds_client.cpp (libkiwix 14's OPDS reading), built on first use."""
    done = subprocess.run([str(SCRIPT), "--opds-client"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    return tuple(done.stdout.splitlines())


def require_opds_client() -> tuple[str, ...]:
    """opds_client() for a test: skips with the fix when it cannot be built, fails instead on CI."""
    import pytest

    command = opds_client()
    if command is not None:
        return command
    reason = (
        "the Kiwix OPDS client could not be built (needs trixie's libkiwix-dev and g++). "
        f"Fix: run {SCRIPT.relative_to(ROOT)} --opds-client and read its message."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def wait_for_port(proc: subprocess.Popen, port: int) -> None:
    """Return once kiwix-serve answers its catalog on `port`; RuntimeError when it exits or never listens."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kiwix-serve exited with {proc.returncode}: a ZIM it could not open?")
        try:
            httpx.get(f"http://127.0.0.1:{port}/catalog/v2/root.xml", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("kiwix-serve did not start listening")


@contextlib.contextmanager
def serving(kiwix_serve: Sequence[str], zim_files: Sequence[Path], port: int) -> Iterator[httpx.Client]:
    """kiwix-serve (`kiwix_serve`: require_kiwix_serve_3_7()) serving `zim_files` on 127.0.0.1:`port`, and a client
    of it; stopped afterwards."""
    proc = subprocess.Popen(
        [*kiwix_serve, "-i", "127.0.0.1", "-p", str(port), *map(str, zim_files)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=10) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=START_TIMEOUT_S)
