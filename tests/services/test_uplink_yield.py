"""Yielding the uplink to people: the decision on its own, then a real rsync over a shaped namespace link."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.services.uplink_yield import YieldPolicy, YieldWatch
from tests import netlab

ROOT = Path(__file__).parents[2]
POLICY = YieldPolicy(threshold_bytes_per_s=50_000, pause_after_s=2, resume_after_s=10)


def _feed(watch: YieldWatch, samples):
    """samples: (second, people's bytes that second, own bytes that second); returns the run/yield verdicts."""
    interface, own, verdicts = 0, 0, []
    for second, people, mine in samples:
        interface, own = interface + people + mine, own + mine
        verdicts.append(watch.observe(float(second), interface, {"10.0.0.2:40000": own} if own else {}))
    return verdicts


def test_uplink_yield_ignores_its_own_traffic_and_short_bursts():
    watch = YieldWatch(POLICY)
    samples = [(t, 0, 600_000) for t in range(10)]  # the sync alone fills the link
    samples += [(10, 200_000, 300_000)]  # one second of a phone's burst
    samples += [(t, 1_000, 600_000) for t in range(11, 20)]
    assert all(_feed(watch, samples))
    assert watch.other_bytes_per_s == 1_000


def test_uplink_yield_pauses_after_busy_seconds_and_resumes_after_quiet():
    watch = YieldWatch(POLICY)
    verdicts = _feed(watch, [(0, 0, 0), (1, 0, 500_000), (2, 300_000, 200_000), (3, 300_000, 200_000),
                             (4, 300_000, 200_000)])
    assert verdicts == [True, True, True, True, False]  # busy from second 2, 2 s later it yields
    quiet = _feed(watch, [(t, 400_000 if t < 8 else 10_000, 0) for t in range(5, 25)])
    resumed_at = 5 + quiet.index(True)
    assert resumed_at == 18  # quiet from second 8, 10 s of quiet needed
    assert all(quiet[quiet.index(True):])


def test_uplink_yield_counts_a_new_connection_from_zero_and_a_closed_one_not_at_all():
    watch = YieldWatch(POLICY)
    watch.observe(0.0, 1_000, {"a": 500})
    watch.observe(1.0, 1_000 + 400_000, {"a": 500 + 100_000, "b": 300_000})  # b opened: all its bytes are ours
    assert watch.other_bytes_per_s == 0
    watch.observe(2.0, 401_000 + 70_000, {"b": 350_000})  # a closed; its last bytes count as other, once
    assert watch.other_bytes_per_s == 20_000


needs_lab = pytest.mark.skipif(netlab.why_unavailable() is not None, reason=str(netlab.why_unavailable()))


@pytest.mark.slow
@needs_lab
def test_uplink_yield_real_rsync_steps_aside_within_5_s_and_finishes_whole(tmp_path):
    source, dest = tmp_path / "mirror", tmp_path / "kit"
    source.mkdir(), dest.mkdir()
    payload = os.urandom(5 * 1024 * 1024)  # random: rsync's -z could not shrink it; 8 s at 5 Mbit/s
    (source / "big.bin").write_bytes(payload)
    with netlab.NetLab("tpky", rate_mbit=5) as lab:
        url = lab.rsync_daemon(source)
        lab.popen(lab.mirror, [sys.executable, "-c", netlab.STREAM_SERVER, netlab.MIRROR_IP, "9000"])
        driver = lab.popen(lab.kit, [sys.executable, "-c", netlab.YIELD_DRIVER, str(ROOT), f"{url}/big.bin",
                                     f"{dest}/", netlab.KIT_IF, netlab.MIRROR_IP, "8873", "50000", "1.5", "3"],
                           stdout=subprocess.PIPE, text=True)
        time.sleep(2.5)
        people = lab.run(lab.kit, [sys.executable, "-c", netlab.STREAM_CLIENT, netlab.MIRROR_IP, "9000", "6"],
                         timeout_s=30, capture_output=True, text=True, check=True)
        people_started, people_stopped = map(float, people.stdout.split())
        out, _ = driver.communicate(timeout=120)
    outcome = json.loads(out)
    yielded = [at for at, what in outcome["events"] if what.startswith("yielded")]
    resumed = [at for at, what in outcome["events"] if what == "resumed"]
    assert outcome["returncode"] == 0, outcome
    assert yielded and 0 < yielded[0] - people_started <= 5, outcome
    assert resumed and resumed[0] >= people_stopped, outcome  # not while people still use the link
    assert hashlib.sha256((dest / "big.bin").read_bytes()).digest() == hashlib.sha256(payload).digest()
    stopped = [at for at, what in outcome["events"] if what == "stopped"]
    assert stopped and stopped[0] - yielded[0] < 2, outcome  # rsync is gone within 2 s of the decision
