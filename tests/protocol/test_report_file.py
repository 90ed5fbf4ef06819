"""The report file both the kit and the hub use: signed, bounded, strict (docs/reporting.md)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import subprocess

import pytest

from appliance.edges import minisign
from appliance.errors import ReportError
from appliance.protocol import report_file

NOW = dt.datetime(2026, 11, 28, 16, 0, tzinfo=dt.timezone.utc)


def _report(**overrides):
    body = overrides.pop("body", {"uptime_s": 12, "school": "五一小学 <b>"})
    return report_file.Report.new("kit-0042", 7, "heartbeat", body, clock_synchronised=True, now=NOW, **overrides)


def test_report_file_roundtrip_is_signed_and_stable():
    secret, report = minisign.generate(), _report(applied_config_version=3)
    payload = report_file.encode(report)
    assert payload == report_file.encode(report)  # no time or name in the gzip header: resending is byte-identical
    signature = report_file.sign(secret, report, payload)
    assert report_file.verify(payload, signature, secret.public, "test") == report
    assert "kit:kit-0042" in signature and "sequence:7" in signature


def test_report_file_refuses_tampering_other_keys_and_swapped_comments():
    secret, other = minisign.generate(), minisign.generate()
    report = _report()
    payload = report_file.encode(report)
    signature = report_file.sign(secret, report, payload)
    forged = report_file.encode(_report(body={"uptime_s": 99}))
    for data, sig, key in (
        (forged, signature, secret.public),
        (payload, signature, other.public),
        (payload, "", secret.public),
        (payload, signature[:40], secret.public),
    ):
        with pytest.raises(ReportError) as caught:
            report_file.verify(data, sig, key, "test")
        assert caught.value.code == "report.bad_signature" and caught.value.status == 401
    # A valid signature of another report's bytes, with that report's comment, does not pass for this one.
    second = _report()
    second_payload = report_file.encode(second)
    lines = signature.splitlines()
    lines[2] = "trusted comment: " + second.trusted_comment
    with pytest.raises(ReportError, match="not signed by the key"):
        report_file.verify(payload, "\n".join(lines) + "\n", secret.public, "test")
    assert report_file.verify(second_payload, report_file.sign(secret, second, second_payload), secret.public, "t")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"format": "tpkit.report/9"}, "format"),
        ({"kit_id": "../etc"}, "kit_id"),
        ({"report_id": "nope"}, "report_id"),
        ({"sequence": 0}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"kind": "selfie"}, "kind"),
        ({"made_at": "yesterday"}, "made_at"),
        ({"clock_synchronised": "yes"}, "clock_synchronised"),
        ({"applied_config_version": -1}, "applied_config_version"),
        ({"body": []}, "body"),
    ],
)
def test_report_file_names_the_malformed_field(change, problem):
    data = _report().as_dict() | change
    payload = gzip.compress(json.dumps(data).encode())
    with pytest.raises(ReportError, match=problem) as caught:
        report_file.decode(payload, "test")
    assert caught.value.code == "report.malformed"


def test_report_file_bounds_size_and_compression_bombs():
    with pytest.raises(ReportError) as caught:
        report_file.decode(b"\0" * (report_file.MAX_COMPRESSED_BYTES + 1), "test")
    assert caught.value.code == "report.too_large"
    bomb = gzip.compress(b" " * (report_file.MAX_PAYLOAD_BYTES + 10))
    assert len(bomb) < report_file.MAX_COMPRESSED_BYTES
    with pytest.raises(ReportError) as caught:
        report_file.decode(bomb, "test")
    assert caught.value.code == "report.too_large"
    for junk in (b"not gzip", gzip.compress(b"{")[:-4], gzip.compress(b"[1]") + b"tail"):
        with pytest.raises(ReportError) as caught:
            report_file.decode(junk, "test")
        assert caught.value.code == "report.malformed"
    with pytest.raises(ReportError) as caught:
        report_file.encode(_report(body={"records": ["x" * 1000] * 5000}))
    assert caught.value.code == "report.too_large"


def test_report_file_bundle_layout_reads_back_in_sequence_order(tmp_path):
    secret = minisign.generate()
    for sequence in (10, 9):
        report = report_file.Report.new("kit-1", sequence, "heartbeat", {}, clock_synchronised=False, now=NOW)
        payload = report_file.encode(report)
        path, sig = report_file.bundle_paths(tmp_path, report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        sig.write_text(report_file.sign(secret, report, payload))
    found = list(report_file.read_bundle(tmp_path))
    assert [report_file.verify(p, s, secret.public, str(path)).sequence for _, path, p, s in found] == [9, 10]
    with pytest.raises(ReportError, match="holds no tpkit-reports"):
        list(report_file.read_bundle(tmp_path / "tpkit-reports"))


@pytest.mark.skipif(shutil.which("minisign") is None, reason="minisign missing: apt-get install minisign")
def test_report_file_is_checkable_with_the_real_minisign(tmp_path):
    secret, report = minisign.generate(), _report()
    payload = report_file.encode(report)
    (tmp_path / "r.json.gz").write_bytes(payload)
    (tmp_path / "r.json.gz.minisig").write_text(report_file.sign(secret, report, payload))
    (tmp_path / "kit.pub").write_text(minisign.public_key_file(secret.public))
    done = subprocess.run(
        ["minisign", "-V", "-p", str(tmp_path / "kit.pub"), "-m", str(tmp_path / "r.json.gz")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "kit:kit-0042" in done.stdout
