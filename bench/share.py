"""Sharing a lesson at the county's limit (issue 17 §4): a teacher shares a lesson holding one file of nearly 50 MB,
cut into 160 KiB `lesson_file` reports signed and stored in one transaction (services/learning/sharing.py). Prints how
long the writer is held and the process's peak memory. Usage (docs/performance.md, "Sharing a lesson"):

    .venv/bin/python bench/share.py [--mb 49]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
from pathlib import Path

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.learning import lessons, sharing
from appliance.services.people import access as people
from appliance.services.people.access import CONSOLE

PDF_HEAD = b"%PDF-1.4\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=49, help="the file's size in MB (the limit is 50 together)")
    size_mb = parser.parse_args().mb
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "c").mkdir()
        overrides = {"data_dir": f"{root}/d", "content_dir": f"{root}/c", "mdns_enabled": False}
        kit = open_kit(load_settings(environ={}, overrides=overrides | {"lesson_upload_max_mb": size_mb + 1}))
        try:
            teacher_id = people.create_teacher(kit.people, CONSOLE, "王老师", "wang", "chalk and blackboard")
            teacher = kit.people.person(teacher_id)
            class_id = people.create_class(kit.people, CONSOLE, "三年级一班", "3", ["wang"])
            lesson_id = lessons.create(kit.people, kit.lessons, teacher, class_id, "大课", "", False, "", [])
            data = PDF_HEAD + os.urandom(size_mb * 2**20)  # random bytes: the worst case for gzip
            lessons.add_upload(kit, teacher, lesson_id, io.BytesIO(data), "video.pdf", "大文件")
            started = time.perf_counter()
            sharing.share(kit, teacher, lesson_id, "CC BY 4.0")
            took_s = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"[i] shared {size_mb} MB in {took_s:.2f} s: {kit.outbox.depth()} reports, peak RSS {peak_mb:.0f} MB")
        finally:
            kit.close()


if __name__ == "__main__":
    main()
