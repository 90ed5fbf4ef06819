"""The class-load run's side on the host (images/image-test.sh --class-load, images/class-load.sh): a class of 40 on
the booted kit, and what its memory and its SD card said meanwhile.

    python3 class_load.py quiz BASE STATE                   the teacher pastes a five-question quiz (GIFT) into the
                                                            class of STATE (made by power_cuts.py setup)
    python3 class_load.py drive BASE STATE SECONDS BOOK OUT 40 pupils sign in with their PINs at once, then for
                                                            SECONDS each reads articles of BOOK, searches it, takes
                                                            the quiz once and hands in a photo once, thinking 5-15 s
                                                            between pages; OUT gets the counts and page times (JSON)
    python3 class_load.py sample BASE OUT STOP              the kit's /metrics every 5 s into OUT (JSON lines) until
                                                            the file STOP exists
    python3 class_load.py book BASE BOOK ARTICLE TEXT       ARTICLE of BOOK holds TEXT (the patch applied); exit 1 if not
    python3 class_load.py table SAMPLES DRIVE JSON MD K=V.. the run's table: memory (lowest MemAvailable, swap, kills,
                                                            each service's peak) and SD writes (per partition, per
                                                            service, per hour, per school day; with
                                                            patch_book_bytes=N, the day also with that book written
                                                            once, not in every hour)

Standard library only (the host's python3), as images/power_cuts.py, whose browser and class it uses. BASE is the
kit's address from the test's namespace (http://127.0.0.1:8080).
"""

from __future__ import annotations

import html
import json
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from power_cuts import CHILDREN, Browser, child_name, csrf, new_lesson, p95, photo, pupil_signs_in, sign_in_admin

SAMPLE_EVERY_S = 5.0
THINK_S = (5.0, 15.0)
ARTICLES = 1500  # images/class_book.py
SEARCH_WORDS = ("river", "rice", "teacher", "fraction", "season", "energy", "mountain", "market")
QUIZ = """Which is a fraction? {=1/2 ~7 ~twelve}

The sun is a star. {T}

Rice grows in {=fields ~clouds ~rivers}

How many sides has a triangle? {#3}

Water freezes in winter. {T}
"""
# A school day of the kit as the SD card sees it: 8 hours with a class, 16 without (kits stay on at night).
CLASS_HOURS_PER_DAY = 8
IDLE_HOURS_PER_DAY = 16
SCHOOL_DAYS_PER_YEAR = 190


def quiz(base: str, state_path: str) -> int:
    state = json.loads(Path(state_path).read_text())
    t = sign_in_admin(base, state["password"])
    page = t.get(f"/teach/{state['class_id']}/quizzes/paste")
    status, where, text = t.request(
        "POST",
        f"/teach/{state['class_id']}/quizzes/paste",
        {"csrf": csrf(page), "title": "Class load quiz", "text": QUIZ, "format": "gift"},
    )
    found = re.search(r"/teach/quizzes/(\d+)", where)
    if status != 303 or found is None:
        print(f"[✗] the pasted quiz answered {status} {where}: {text[:300]}")
        return 1
    state["quiz"] = int(found.group(1))
    Path(state_path).write_text(json.dumps(state))
    print(f"[✓] quiz {state['quiz']} pasted into class {state['class_id']}")
    return 0


class Clock:
    """Page times by kind, and what went wrong, shared by the 40 pupils' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def timed(self, kind: str, b: Browser, method: str, path: str, fields=None, files=None, ok=(200, 303)):
        started = time.monotonic()
        try:
            status, where, text = b.request(method, path, fields, files)
        except OSError as exc:
            self.error(f"{kind}: {type(exc).__name__}")
            return None
        took = time.monotonic() - started
        with self.lock:
            self.times.setdefault(kind, []).append(took)
        if status not in ok:
            self.error(f"{kind}: answered {status}")
            return None
        return status, where, text

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def _quiz_once(clock: Clock, b: Browser, quiz_id: int) -> None:
    answer = clock.timed("quiz", b, "GET", f"/me/quizzes/{quiz_id}")
    if answer is None:
        return
    answer = clock.timed("quiz", b, "POST", f"/me/quizzes/{quiz_id}/start", {"csrf": csrf(answer[2])})
    if answer is None or not answer[1]:
        return
    attempt = answer[1]
    answer = clock.timed("quiz", b, "GET", attempt)
    if answer is None:
        return
    page = answer[2]
    fields = {name: value for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    for name in dict.fromkeys(re.findall(r'name="(a\d+)"', page)):
        values = re.findall(rf'name="{name}" value="([^"]*)"', page)
        fields[name] = values[0] if values else "3"
    fields["blanks"] = "ok"
    clock.timed("quiz", b, "POST", attempt, {k: html.unescape(v) for k, v in fields.items()})


def drive(base: str, state_path: str, seconds: str, book: str, out: str) -> int:
    state = json.loads(Path(state_path).read_text())
    t = sign_in_admin(base, state["password"])
    lesson_id = new_lesson(t, state["class_id"], "Class load homework")
    clock = Clock()
    started = time.monotonic()
    pupils: list[tuple[int, Browser, str]] = []
    lock = threading.Lock()

    def sign_in(n: int) -> None:
        name = child_name(n)
        t0 = time.monotonic()
        try:
            b, token = pupil_signs_in(base, state["class_id"], name, state["pins"][name])
        except (OSError, RuntimeError) as exc:
            clock.error(f"sign-in: {exc}")
            return
        with clock.lock:
            clock.times.setdefault("sign-in", []).append(time.monotonic() - t0)
        with lock:
            pupils.append((n, b, token))

    threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(CHILDREN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    signed_in_s = time.monotonic() - started
    end = started + float(seconds)

    def pupil(n: int, b: Browser, token: str) -> None:
        rnd = random.Random(n)
        handin_at = time.monotonic() + rnd.uniform(0, float(seconds) / 2)
        quiz_at = time.monotonic() + rnd.uniform(0, float(seconds) / 2)
        while time.monotonic() < end:
            now = time.monotonic()
            if handin_at and now >= handin_at:
                handin_at = 0
                fields = {"csrf": token, "body": f"class load pupil {n + 1:02d}"}
                files = [("photos", f"IMG_{n:04d}.png", "image/png", photo(n + 5000))]
                clock.timed("hand-in", b, "POST", f"/me/lessons/{lesson_id}/handin", fields, files)
            elif quiz_at and now >= quiz_at and state.get("quiz"):
                quiz_at = 0
                _quiz_once(clock, b, state["quiz"])
            elif rnd.random() < 0.2:
                word = rnd.choice(SEARCH_WORDS)
                clock.timed("search", b, "GET", f"/search?content={book}&pattern={urllib.parse.quote(word)}")
            else:
                clock.timed("article", b, "GET", f"/content/{book}/article{rnd.randrange(ARTICLES)}")
            time.sleep(rnd.uniform(*THINK_S))

    threads = [threading.Thread(target=pupil, args=p) for p in pupils]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    summary = {
        "pupils_signed_in": len(pupils),
        "sign_in_s": round(signed_in_s, 1),
        "seconds": round(time.monotonic() - started, 1),
        "pages": {
            kind: {"count": len(v), "p50_s": round(statistics.median(v), 2), "p95_s": p95(v)}
            for kind, v in sorted(clock.times.items())
        },
        "errors": clock.errors,
    }
    Path(out).write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


METRIC = re.compile(r"^(tpkit_[a-z_]+)(?:\{(.*)\})? (\S+)$")


def _metrics(text: str) -> dict:
    found: dict = {"units": {}, "disks": {}}
    for line in text.splitlines():
        match = METRIC.match(line)
        if not match:
            continue
        name, labels, value = (
            match.group(1),
            dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or "")),
            float(match.group(3)),
        )
        if name.startswith("tpkit_unit_"):
            found["units"].setdefault(labels["unit"], {})[name[len("tpkit_unit_") :]] = value
        elif name == "tpkit_disk_written_bytes_total":
            found["disks"][labels["mount"]] = value
        elif not labels:
            found[name] = value
    return found


def sample(base: str, out: str, stop: str) -> int:
    b = Browser(base)
    with open(out, "a", encoding="utf-8") as lines:
        while not Path(stop).exists():
            t0 = time.time()
            try:
                status, _, text = b.request("GET", "/metrics")
                if status == 200:
                    lines.write(json.dumps({"t": round(t0, 1), **_metrics(text)}) + "\n")
                    lines.flush()
            except OSError:
                pass
            time.sleep(max(0.0, SAMPLE_EVERY_S - (time.time() - t0)))
    return 0


def book(base: str, name: str, article: str, text: str) -> int:
    status, _, page = Browser(base).request("GET", f"/content/{name}/{article}")
    ok = status == 200 and text in page
    print(f"[{'✓' if ok else '✗'}] /content/{name}/{article} answered {status}, {'with' if ok else 'without'} {text!r}")
    return 0 if ok else 1


def _window(samples: list[dict], start: float, end: float) -> list[dict]:
    return [s for s in samples if start <= s["t"] <= end]


def _written(first: dict, last: dict) -> dict[str, float]:
    return {mount: last["disks"].get(mount, 0) - first["disks"].get(mount, 0) for mount in last["disks"]}


def table(samples_path: str, drive_path: str, json_path: str, md_path: str, *about: str) -> int:
    """The run's figures. `about` carries the phases' times: class_start, class_end, idle_end (epoch seconds)."""
    run = dict(item.split("=", 1) for item in about)
    samples = [json.loads(line) for line in Path(samples_path).read_text().splitlines() if line.strip()]
    drove = json.loads(Path(drive_path).read_text())
    start, end, idle_end = (float(run[k]) for k in ("class_start", "class_end", "idle_end"))
    load, idle = _window(samples, start, end), _window(samples, end, idle_end)
    if len(load) < 2 or len(idle) < 2:
        print("[✗] too few samples of /metrics in the class's or the idle window")
        return 1
    mib = 2**20
    memory = {
        "total_mib": round(samples[-1]["tpkit_memory_total_bytes"] / mib),
        "lowest_available_mib": round(min(s["tpkit_memory_available_bytes"] for s in samples) / mib),
        "swap_used_most_mib": round(max(s.get("tpkit_swap_used_bytes", 0) for s in samples) / mib, 1),
        "oom_kills": int(samples[-1].get("tpkit_oom_kills_total", 0)),
        "peak_mib": {
            unit: round(max(s["units"].get(unit, {}).get("memory_peak_bytes", 0) for s in samples) / mib, 1)
            for unit in sorted({u for s in samples for u in s["units"]})
        },
    }
    hours_load, hours_idle = (load[-1]["t"] - load[0]["t"]) / 3600, (idle[-1]["t"] - idle[0]["t"]) / 3600
    class_mib, idle_mib = _written(load[0], load[-1]), _written(idle[0], idle[-1])
    per_hour = {m: round(v / mib / hours_load, 1) for m, v in class_mib.items()}
    idle_per_hour = {m: round(v / mib / hours_idle, 1) for m, v in idle_mib.items()}
    day_mib = sum(per_hour.values()) * CLASS_HOURS_PER_DAY + sum(idle_per_hour.values()) * IDLE_HOURS_PER_DAY
    # The class's window holds one book written by a patch (stick 2): a day's figure from that hour writes it 8
    # times. A kit gets a book's new version once a day at most (a sync, a stick): the day with the book once.
    book_mib = float(run.get("patch_book_bytes", 0)) / mib
    day_one_book_mib = day_mib - book_mib / hours_load * CLASS_HOURS_PER_DAY + book_mib
    units_written = {
        unit: round(
            (
                load[-1]["units"].get(unit, {}).get("written_bytes_total", 0)
                - load[0]["units"].get(unit, {}).get("written_bytes_total", 0)
            )
            / mib,
            1,
        )
        for unit in sorted(load[-1]["units"])
    }
    result = {
        "run": run,
        "class": drove,
        "memory": memory,
        "sd_card": {
            "class_minutes": round(hours_load * 60, 1),
            "idle_minutes": round(hours_idle * 60, 1),
            "class_mib_per_hour": per_hour,
            "idle_mib_per_hour": idle_per_hour,
            "units_written_in_class_mib": {u: v for u, v in units_written.items() if v},
            "school_day_mib": round(day_mib),
            "school_year_gib": round(day_mib * SCHOOL_DAYS_PER_YEAR / 1024, 1),
            "patch_book_mib": round(book_mib, 1),
            "school_day_one_book_mib": round(day_one_book_mib),
            "school_year_one_book_gib": round(day_one_book_mib * SCHOOL_DAYS_PER_YEAR / 1024, 1),
        },
    }
    Path(json_path).write_text(json.dumps(result, indent=1))
    lines = [
        "# Class load: "
        + ", ".join(f"{k} {v}" for k, v in run.items() if k not in ("class_start", "class_end", "idle_end")),
        "",
        f"- class: {drove['pupils_signed_in']} pupils signed in in {drove['sign_in_s']} s; "
        + "; ".join(f"{k} {v['count']} (p50 {v['p50_s']} s, p95 {v['p95_s']} s)" for k, v in drove["pages"].items())
        + f"; errors {drove['errors'] or 'none'}",
        f"- memory: {memory['total_mib']} MiB; lowest MemAvailable {memory['lowest_available_mib']} MiB; "
        f"swap used at most {memory['swap_used_most_mib']} MiB; processes killed for memory {memory['oom_kills']}",
        "- peak memory per service (MiB): " + ", ".join(f"{u} {v}" for u, v in memory["peak_mib"].items()),
        f"- SD card, with the class ({result['sd_card']['class_minutes']} min), MiB per hour: "
        + ", ".join(f"{m} {v}" for m, v in per_hour.items()),
        f"- SD card, idle ({result['sd_card']['idle_minutes']} min), MiB per hour: "
        + ", ".join(f"{m} {v}" for m, v in idle_per_hour.items()),
        "- written by service in class (MiB): "
        + (", ".join(f"{u} {v}" for u, v in result["sd_card"]["units_written_in_class_mib"].items()) or "none"),
        f"- a school day ({CLASS_HOURS_PER_DAY} h of class, {IDLE_HOURS_PER_DAY} h idle): {result['sd_card']['school_day_mib']} MiB; "
        f"a school year ({SCHOOL_DAYS_PER_YEAR} days): {result['sd_card']['school_year_gib']} GiB",
        f"- the same day with the book the patch wrote ({result['sd_card']['patch_book_mib']} MiB) once, not in each "
        f"hour: {result['sd_card']['school_day_one_book_mib']} MiB; a school year: "
        f"{result['sd_card']['school_year_one_book_gib']} GiB",
        "",
    ]
    Path(md_path).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


COMMANDS = {"quiz": quiz, "drive": drive, "sample": sample, "book": book, "table": table}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
