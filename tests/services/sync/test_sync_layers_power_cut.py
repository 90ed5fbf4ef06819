"""Power cuts during an update by layer: `tpkit sync` (a real process, with its rsync) killed with SIGKILL at 30
random moments while it fetches a patch, writes its layer and switches the stack (issue 21, "apply ∝ edit").

After every cut the library opens the book whole, as the version before or the version after (never a mix, never a
stack naming a missing layer), and the next run finishes the update with nothing left in staging and no layer file
that no stack names. With sync_layers_max = 8 the cuts also land in the rebuild of a book with 8 layers.
"""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys
import time

import pytest

from appliance.config import as_environment
from appliance.content import zimlayers
from appliance.content.zimfile import ZimFile
from appliance.services.sync.engine import Engine
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database, staged_files
from tests.services.sync.test_sync_layers import County
from tests.services.sync.test_sync_power_cut import _cut_power

TRIALS = 30
# Each cut lands after the patch is staged (the run's "verifying … patch" line), a random share of the time an uncut
# run takes from there to its end (the layer's writing, the stack's switch, the history), up to a bit after it.
CUT_SHARE = (0.0, 1.1)


def _phase(engine: Engine, settings) -> str:
    """Where a cut landed, from what it left: a pending stack switch, a layer being written, a patch, else outside."""
    row = engine.installed.get("water_en")
    if row is not None and row.pending_action is not None:
        return "switch"
    staged = [p.name for p in settings.data_dir.joinpath("sync", "staging").rglob("*")]
    if any(".zimlayer" in name for name in staged):
        return "layer"
    if any(".zimpatch" in name for name in staged):
        return "patch"
    return "outside"


def _served(book) -> str:
    """The `water` article as the library serves the book (its layers included); every layer must open whole."""
    stack = zimlayers.read_stack(book)
    for name in stack.layers if stack else ():
        assert ZimFile(zimlayers.layers_dir(book) / name).verify_checksum() is True
    return bytes(zimlayers.open_book(book).lookup("water").data).decode()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sync_by_layer_killed_at_random_moments_serves_old_or_new_whole(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    county = County(mirror, tmp_path / "published-before")
    county.release("version 0")
    daemon = RsyncDaemon(mirror.root, tmp_path).start()
    rng = random.Random(7)  # fixed seed: a failure can be replayed
    try:
        throttled = kit_settings(tmp_path, daemon.url, mirror, sync_layer_min_bytes=0)
        engine = Engine(kit_settings(tmp_path, daemon.url, mirror, sync_layer_min_bytes=0), open_database(throttled))
        engine.run()
        book = throttled.content_dir / "water_en.zim"
        environment = {**os.environ, **as_environment(throttled), "TPKIT_LOG_LEVEL": "error"}

        def start_until_staged() -> subprocess.Popen:
            """`tpkit sync`, once it says the patch is staged (or has ended)."""
            process = subprocess.Popen(
                [sys.executable, "-m", "appliance", "sync"],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                if "verifying" in line and "patch" in line:
                    break
            return process

        county.release("version 1")  # an uncut run first: how long applying takes here
        process = start_until_staged()
        staged = time.monotonic()
        assert process.wait() == 0
        apply_s = time.monotonic() - staged
        process.stdout.close()
        interrupted, phases = 0, collections.Counter()
        for trial in range(2, TRIALS + 2):
            county.release(f"version {trial}")
            process = start_until_staged()
            time.sleep(rng.uniform(*CUT_SHARE) * apply_s)
            interrupted += process.poll() is None
            _cut_power(process)
            process.stdout.close()
            phases[_phase(engine, throttled)] += 1
            text = _served(book)
            assert f"version {trial - 1}<" in text or f"version {trial}<" in text, f"trial {trial}: {text[-80:]}"
            _, result = engine.run()
            assert result.outcome == "ok", f"trial {trial}: {result}"
            assert f"version {trial}<" in _served(book)
            row = engine.installed.get("water_en")
            assert row.digest == county.full()["result_digest"] and row.pending_action is None
            stack = zimlayers.read_stack(book)
            assert row.layers == (len(stack.layers) if stack else 0), f"trial {trial}"
            layers = set(stack.layers if stack else ())
            if row.previous_file and row.previous_file.endswith(".stack.json"):  # a rollback's layers stay
                layers |= set(json.loads((engine.paths.sync_previous_dir / row.previous_file).read_text())["layers"])
            # each layer with the patch kept beside it (docs/sync.md, "Roads and patches")
            named = {zimlayers.STACK_NAME, *layers, *(zimlayers.kept_patch_name(name) for name in layers)}
            folder = zimlayers.layers_dir(book)
            on_disk = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
            assert on_disk <= named, f"trial {trial}: layer files no stack names: {on_disk - named}"
            assert staged_files(throttled) == [], f"trial {trial}: staging garbage"
        assert interrupted >= TRIALS // 2  # most cuts landed while the sync was running
        print(f"where the cuts landed: {dict(phases)}")
        assert phases["layer"] + phases["switch"] >= TRIALS // 3, phases  # in the layer's writing, the stack's switch
    finally:
        daemon.stop()
