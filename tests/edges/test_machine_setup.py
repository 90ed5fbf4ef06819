"""Time zone and growing the data partition, through fake timedatectl/findmnt/growpart/resize2fs on PATH."""

from __future__ import annotations

import pytest

from appliance.edges import machine_setup
from appliance.errors import SystemCommandError
from tests.provisioning_kit import fake_machine


@pytest.mark.parametrize(
    "source, disk, number",
    [("/dev/mmcblk0p3", "/dev/mmcblk0", "3"), ("/dev/sda2", "/dev/sda", "2"), ("/dev/nvme0n1p2", "/dev/nvme0n1", "2")],
)
def test_machine_setup_grows_the_partition_holding_the_folder(tmp_path, monkeypatch, source, disk, number):
    path, calls = fake_machine(tmp_path, source=source)
    monkeypatch.setenv("PATH", path)
    assert machine_setup.grow_partition_of(tmp_path) == f"grew {source} to fill {disk}"
    assert calls.read_text().splitlines()[1:] == [f"growpart {disk} {number}", f"resize2fs {source}"]


def test_machine_setup_leaves_overlays_and_full_partitions_alone(tmp_path, monkeypatch):
    path, calls = fake_machine(tmp_path, source="overlay")
    monkeypatch.setenv("PATH", path)
    assert "not a disk partition: nothing to grow" in machine_setup.grow_partition_of(tmp_path)
    path, calls = fake_machine(tmp_path / "full", growpart_exit=1)
    monkeypatch.setenv("PATH", path)
    assert machine_setup.grow_partition_of(tmp_path) == "/dev/mmcblk0p3 already fills /dev/mmcblk0"
    assert "resize2fs" not in calls.read_text()


def test_machine_setup_missing_tool_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemCommandError) as caught:
        machine_setup.set_time_zone("Asia/Shanghai")
    assert "timedatectl" in caught.value.message and "apt-get install systemd" in caught.value.fix
