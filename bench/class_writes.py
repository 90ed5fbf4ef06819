"""What each thing a class does writes to the disk (issue 19, the SD card): a real `tpkit serve` on a temp folder on
disk, driven through its pages as images/image-test.sh --class-load drives the image (images/power_cuts.py's
browser and class, images/class_load.py's quiz), one kind of action at a time, bytes from /proc/PID/io
(`write_bytes`, summed over the server and its forked workers).

    .venv/bin/python -m bench.class_writes [--pupils 40] [--dir /var/tmp]

Then a school day from those costs: each pupil signs in once, opens 100 articles, searches 20 times, takes one quiz
and hands in one photo. The image's own figure for a class hour is docs/image.md's ("A 1 GB Pi under a class, and
the SD card"); this one says which action costs what.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.services.learning import open_batch
from bench.servers import free_port, http_get, process_tree

IMAGES = Path(__file__).resolve().parents[1] / "images"
sys.path.insert(0, str(IMAGES))

import class_book  # noqa: E402  (images/: the class-load run's book)
import class_load  # noqa: E402
import power_cuts  # noqa: E402

PASSWORD = "bench class administrator"
DAY = {"sign-in": 1, "article": 100, "search": 20, "quiz": 1, "hand-in": 1}


def written(pid: int) -> int:
    total = 0
    for child in process_tree(pid):
        try:
            text = Path(f"/proc/{child}/io").read_text()
        except OSError:
            continue  # gone between listing and reading
        total += int(re.search(r"^write_bytes: (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=40, help="at most 40 (images/power_cuts.py's class)")
    parser.add_argument("--dir", default="/var/tmp", help="where the kit's folders are made (a disk, not tmpfs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        class_book.main(str(content / f"{class_book.NAME}.zim"), "1")
        port = free_port()
        env = {
            **os.environ,
            "TPKIT_DATA_DIR": f"{tmp}/data",
            "TPKIT_CONTENT_DIR": str(content),
            "TPKIT_HOST": "127.0.0.1",
            "TPKIT_PORT": str(port),
        }
        log = Path(tmp) / "serve.log"
        with open(log, "w") as out:
            server = subprocess.Popen([sys.executable, "-m", "appliance", "serve"], env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if http_get(port, "/")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            once = re.search(r"user 'admin'\): (\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
            base = f"http://127.0.0.1:{port}"
            admin = power_cuts.sign_in_admin(base, once)
            page = admin.get("/admin")
            admin.request(
                "POST",
                "/admin/password",
                {"csrf": power_cuts.csrf(page), "current": once, "password": PASSWORD},
            )
            state = str(Path(tmp) / "state.json")
            power_cuts.setup(base, state, PASSWORD)
            class_load.quiz(base, state)
            costs = measure(base, state, server.pid, min(args.pupils, power_cuts.CHILDREN))
        finally:
            server.terminate()
            server.wait(30)
    print(f"\n{'action':10} {'each':>10}")
    for kind, cost in costs.items():
        print(f"{kind:10} {cost / 1024:7.1f} KiB")
    day = sum(DAY[kind] * costs[kind] for kind in DAY) * min(args.pupils, power_cuts.CHILDREN)
    print(f"a school day ({args.pupils} pupils, {DAY}): {day / 2**20:.1f} MiB")


def measure(base: str, state_path: str, pid: int, pupils: int) -> dict[str, float]:
    state = json.loads(Path(state_path).read_text())
    costs: dict[str, float] = {}

    def phase(kind: str, count: int, work) -> None:
        before = written(pid)
        work()
        time.sleep(1)
        costs[kind] = (written(pid) - before) / count

    signed: list = []
    phase(
        "sign-in",
        pupils,
        lambda: signed.extend(
            power_cuts.pupil_signs_in(
                base, state["class_id"], power_cuts.child_name(n), state["pins"][power_cuts.child_name(n)]
            )
            for n in range(pupils)
        ),
    )
    rnd = random.Random(1)

    def read() -> None:
        for n in range(10 * pupils):
            signed[n % pupils][0].request(
                "GET", f"/content/{class_book.NAME}/article{rnd.randrange(class_book.ARTICLES)}"
            )
        signed[0][0].request("GET", "/me")  # writes what its worker's batch keeps back
        time.sleep(open_batch.BATCH_S + 1)  # and the other worker's timer

    phase("article", 10 * pupils, read)
    phase(
        "search",
        10 * pupils,
        lambda: [
            signed[n % pupils][0].request("GET", f"/search?content={class_book.NAME}&pattern=river")
            for n in range(10 * pupils)
        ],
    )
    phase("quiz", pupils, lambda: [class_load._quiz_once(class_load.Clock(), b, state["quiz"]) for b, _ in signed])
    teacher = power_cuts.sign_in_admin(base, state["password"])
    lesson = power_cuts.new_lesson(teacher, state["class_id"], "bench")
    phase(
        "hand-in",
        pupils,
        lambda: [
            b.request(
                "POST",
                f"/me/lessons/{lesson}/handin",
                {"csrf": token, "body": "x"},
                [("photos", "a.png", "image/png", power_cuts.photo(n + 7000))],
            )
            for n, (b, token) in enumerate(signed)
        ],
    )
    return costs


if __name__ == "__main__":
    main()
