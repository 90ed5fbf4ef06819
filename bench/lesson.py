"""A class of simulated students doing one whole lesson against a real `tpkit serve` on loopback (issue 4, "Measure").

    .venv/bin/python bench/lesson.py [--students 60] [--think 1-5] [--ramp 20] [--json bench/results/lesson-1.json]

Setup (not timed): a data folder with the demo library (`tpkit demo`'s books); a teacher and a class of N students
made through the services the CLI uses (`people.create_teacher`, `class_roster.import_file`, which makes each
student's PIN); then `tpkit serve` (uvicorn, `web_workers` processes, as on a kit) and, over HTTP as the teacher:
a homework lesson with two articles of the library and a 10-question quiz with two questions of each kind.

Timed: every student, concurrently (asyncio + httpx, one client and cookie jar per student), starting at a random
moment within `--ramp` seconds and waiting a random `--think` seconds between pages (0 for a stress run):
/learn → class → name → PIN (POST, CSRF) → /me → the lesson → each of the two items (the kit bar's page → the article framed in it) →
the quiz page → start (POST) → the questions → answers (POST) → the result → the homework hand-in with a ~300 KB
JPEG (multipart POST) → the lesson page again. Meanwhile the teacher reloads the class overview every
`--overview-every` seconds. Any status other than the expected one (a 2xx, or the expected 303) is an error.

Afterwards (server stopped), the SQLite database and uploads folder are checked: one hand-in per student whose
photo on disk has the size and SHA-256 sent, one handed-in quiz attempt per student with the expected score, and
the expected xAPI statements per student. Prints a table and writes JSON (`--json`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import io
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.servers import ManagedServer, read_status_kb  # noqa: E402

PHOTO_SIZE = (800, 600)  # about 300 KB as a JPEG of noise
TEACHER, TEACHER_PASSWORD = "bench.teacher", "chalk and blackboard 42"
CLASS_NAME = "Grade 5 B"
ARTICLES = ("water_cycle", "plants")  # in the demo library's English book
BOOK = "tpkit_demo_en"

# The quiz: two questions of each kind, as the teacher's form posts them; per question (fields, right, wrong).
QUESTIONS = [
    (
        {
            "kind": "single",
            "prompt": "Which gas do plants take in?",
            "option0": "Oxygen",
            "option1": "Carbon dioxide",
            "option2": "Helium",
            "right": ["1"],
        },
        ["1"],
        ["0"],
    ),
    (
        {
            "kind": "single",
            "prompt": "Where does rain come from?",
            "option0": "Clouds",
            "option1": "Rocks",
            "right": ["0"],
        },
        ["0"],
        ["1"],
    ),
    (
        {
            "kind": "multiple",
            "prompt": "Which are mammals?",
            "option0": "Whale",
            "option1": "Shark",
            "option2": "Bat",
            "right": ["0", "2"],
        },
        ["0", "2"],
        ["1"],
    ),
    (
        {
            "kind": "multiple",
            "prompt": "Which are states of water?",
            "option0": "Ice",
            "option1": "Steam",
            "option2": "Sand",
            "right": ["0", "1"],
        },
        ["0", "1"],
        ["2"],
    ),
    ({"kind": "true_false", "prompt": "The sun is a star.", "tf": "true"}, ["true"], ["false"]),
    ({"kind": "true_false", "prompt": "Plants need no light.", "tf": "false"}, ["false"], ["true"]),
    (
        {
            "kind": "short",
            "prompt": "Name the process plants use to make food.",
            "accepted": "photosynthesis\n光合作用",
        },
        ["Photo-synthesis."],
        ["breathing"],
    ),
    ({"kind": "short", "prompt": "What falls from clouds?", "accepted": "rain\n雨"}, ["Rain"], ["sand"]),
    (
        {"kind": "numeric", "prompt": "What is 7 ÷ 2?", "number": "3.5", "tolerance": "0.01", "points": "2"},
        ["３,5"],
        ["4"],
    ),
    ({"kind": "numeric", "prompt": "How many legs has a spider?", "number": "8", "tolerance": "0"}, ["8"], ["6"]),
]


def question_points(fields: dict) -> float:
    return float(fields.get("points", "1"))


def answers_right(student_index: int) -> list[bool]:
    """Which questions student n answers right: a fixed pattern, so every score is known in advance."""
    return [(student_index + q) % 3 != 0 for q in range(len(QUESTIONS))]


def expected_score(student_index: int) -> float:
    return sum(question_points(f) for (f, _, _), ok in zip(QUESTIONS, answers_right(student_index)) if ok)


def photo(student_index: int) -> bytes:
    """A real JPEG of about 300 KB (800 × 600 of noise at quality 80: noise does not compress, like a photo of a
    page), different for every student. The kit decodes it and writes it again without metadata (edges/images)."""
    from PIL import Image

    noise = random.Random(student_index).randbytes(PHOTO_SIZE[0] * PHOTO_SIZE[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", PHOTO_SIZE, noise).save(out, "JPEG", quality=80)
    return out.getvalue()


def _pixels(data: bytes) -> tuple[int, int] | None:
    """Width and height of the picture in `data`, or None when it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


# --- setup ---------------------------------------------------------------------------------------


def kit_with_teacher(data_dir: Path, content_dir: Path, display_name: str, username: str, password: str):
    """The demo books written into `content_dir`, the kit opened on `data_dir`, and a teacher who has already chosen
    her own password, through the services; the open kit (the caller closes it). Shared by the benches that drive a
    real `tpkit serve` afterwards (this one, bench/teachers_day.py)."""
    from appliance.config import load_settings
    from appliance.services.kit import open_kit
    from appliance.services.library import demo_books
    from appliance.services.people import access as people
    from appliance.services.people.access import CONSOLE

    saved = os.dup(1)  # libzim's writer prints its progress on the process's stdout: keep the table readable
    try:
        with open(os.devnull, "wb") as quiet:
            os.dup2(quiet.fileno(), 1)
            demo_books.build(content_dir)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    kit = open_kit(
        load_settings(
            environ={}, overrides={"data_dir": str(data_dir), "content_dir": str(content_dir), "mdns_enabled": False}
        )
    )
    try:
        teacher_id = people.create_teacher(kit.people, CONSOLE, display_name, username, password)
        with kit.people.transaction() as conn:  # as if she had already chosen her own password
            kit.people.update_person(conn, teacher_id, must_change_password=0)
    except BaseException:
        kit.close()
        raise
    return kit


def prepare(data_dir: Path, content_dir: Path, students: int) -> tuple[int, list[dict]]:
    """Demo books, a teacher and a class of `students` with PINs, through the services; (class id, students)."""
    from appliance.services.people import class_roster
    from appliance.services.people.access import CONSOLE

    kit = kit_with_teacher(data_dir, content_dir, "Ms Bench", TEACHER, TEACHER_PASSWORD)
    try:
        roster = "name,student_number\n" + "".join(f"Student {n:02d},B{n:04d}\n" for n in range(students))
        result = class_roster.import_file(kit.people, CONSOLE, roster.encode(), "5b.csv", CLASS_NAME, TEACHER)
        pins = {number: pin for _, number, pin in result.pins}
        found = [
            {
                "index": int(s["student_number"][1:]),
                "id": s["id"],
                "pin": pins[s["student_number"]],
                "number": s["student_number"],
            }
            for s in kit.people.students_of(result.class_id)
        ]
        return result.class_id, sorted(found, key=lambda s: s["index"])
    finally:
        kit.close()


def csrf(page: httpx.Response) -> str:
    """The CSRF token of a page's forms: bound to the client's sign-in cookie (the same on every page until it signs
    out), or before sign-in to its pre-session cookie."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if found is None:
        raise StepFailed(f"no form on {page.url}")
    return found.group(1)


def teacher_sets_up(base_url: str, class_id: int) -> dict:
    """Over HTTP, as the teacher: the homework lesson with two articles, and the quiz."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=60) as http:
        signed = http.post(
            "/admin/signin",
            data={"csrf": csrf(http.get("/admin/signin")), "username": TEACHER, "password": TEACHER_PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        token = csrf(http.get("/teach"))
        made = http.post(
            f"/teach/{class_id}/lessons",
            data={
                "csrf": token,
                "title": "The water cycle and plants",
                "homework": "1",
                "due": "",
                "instructions": "Read both articles, take the quiz, then hand in a photo of your drawing.",
            },
        )
        assert made.status_code == 303, made.text
        lesson_id = int(made.headers["location"].rsplit("/", 1)[1])
        for path in ARTICLES:
            added = http.post(f"/teach/lessons/{lesson_id}/items", data={"csrf": token, "book": BOOK, "path": path})
            assert added.status_code == 303, added.text
        form = {
            "csrf": token,
            "title": "Water and plants",
            "attempts": "1",
            "due": "",
            "pass": "60",
            "count": str(len(QUESTIONS)),
            "action": "save",
        }
        for n, (fields, _, _) in enumerate(QUESTIONS):
            form.update({f"q{n}-{name}": value for name, value in fields.items()})
        saved = http.post(f"/teach/{class_id}/quizzes", data=form)
        assert saved.status_code == 303, saved.text
        return {"lesson_id": lesson_id, "quiz_id": int(saved.headers["location"].rsplit("/", 1)[1])}


# --- the timed part ------------------------------------------------------------------------------


class Recorder:
    """Latencies per step, errors, and the wall-clock span of the timed part."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.timeline: list[tuple[float, float]] = []  # (start since the first request, latency) of every request
        self.origin = time.perf_counter()

    async def call(self, step: str, http: httpx.AsyncClient, method: str, url: str, expect: int = 200, **kwargs):
        start = time.perf_counter()
        try:
            response = await http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.errors.append(f"{step} {method} {url}: {type(exc).__name__} {exc}")
            raise
        self.latencies.setdefault(step, []).append(time.perf_counter() - start)
        self.timeline.append((start - self.origin, time.perf_counter() - start))
        if response.status_code != expect:
            self.errors.append(
                f"{step} {method} {url}: {response.status_code} (expected {expect}) {response.text[:200]!r}"
            )
            raise StepFailed(step)
        return response


class StepFailed(Exception):
    pass


async def think(rng: random.Random, span: tuple[float, float]) -> None:
    if span[1] > 0:
        await asyncio.sleep(rng.uniform(*span))


def phone(base_url: str) -> httpx.AsyncClient:
    """One student's browser: its own cookies and connection. Made before the timed part: making an httpx client
    costs tens of milliseconds of this process's CPU (TLS setup, even for http://), which stalled the event loop
    and so inflated the latencies of every request in flight when students were started during the ramp."""
    return httpx.AsyncClient(base_url=base_url, follow_redirects=False, timeout=60)


async def student(
    http: httpx.AsyncClient,
    rec: Recorder,
    class_id: int,
    who: dict,
    setup: dict,
    think_s: tuple[float, float],
    ramp_s: float,
    sent: dict,
) -> None:
    rng = random.Random(1000 + who["index"])
    await asyncio.sleep(rng.uniform(0, ramp_s))
    lesson_id, quiz_id = setup["lesson_id"], setup["quiz_id"]
    async with http:
        try:
            await rec.call("sign-in: classes", http, "GET", "/learn")
            await think(rng, think_s)
            await rec.call("sign-in: names", http, "GET", f"/learn/{class_id}")
            await think(rng, think_s)
            pin_page = await rec.call("sign-in: PIN page", http, "GET", f"/learn/{class_id}/{who['id']}")
            await think(rng, think_s)
            await rec.call(
                "sign-in: PIN (POST)",
                http,
                "POST",
                f"/learn/{class_id}/{who['id']}",
                expect=303,
                data={"csrf": csrf(pin_page), "pin": who["pin"], "key": "go"},
            )
            token = csrf(await rec.call("my space", http, "GET", "/me"))
            await think(rng, think_s)
            page = await rec.call("lesson", http, "GET", f"/me/lessons/{lesson_id}")
            items = sorted(set(re.findall(rf"/me/lessons/{lesson_id}/items/(\d+)", page.text)), key=int)
            if len(items) != len(ARTICLES):
                rec.errors.append(f"lesson page lists {len(items)} items, expected {len(ARTICLES)}")
                raise StepFailed("lesson")
            for item in items:
                await think(rng, think_s)
                framing = await rec.call("open item", http, "GET", f"/me/lessons/{lesson_id}/items/{item}")
                framed = re.search(r'<iframe[^>]* src="([^"]+)"', framing.text)
                if framed is None:
                    rec.errors.append(f"item {item}: no article framed under the kit bar")
                    raise StepFailed("open item")
                await rec.call("article", http, "GET", html.unescape(framed.group(1)))
            await think(rng, think_s)
            await rec.call("quiz page", http, "GET", f"/me/quizzes/{quiz_id}")
            await think(rng, think_s)
            started = await rec.call(
                "quiz: start (POST)",
                http,
                "POST",
                f"/me/quizzes/{quiz_id}/start",
                expect=303,
                data={"csrf": token},
            )
            await rec.call("quiz: questions", http, "GET", started.headers["location"])
            await think(rng, think_s)
            await think(rng, think_s)  # ten questions take longer than one page
            answers = {"csrf": token}
            for n, ((_, right, wrong), ok) in enumerate(zip(QUESTIONS, answers_right(who["index"]))):
                answers[f"a{n}"] = right if ok else wrong
            done = await rec.call(
                "quiz: answers (POST)", http, "POST", started.headers["location"], expect=303, data=answers
            )
            await rec.call("quiz: result", http, "GET", done.headers["location"])
            await think(rng, think_s)
            picture = photo(who["index"])
            sent[who["id"]] = (len(picture), hashlib.sha256(picture).hexdigest())
            handed = await rec.call(
                "hand-in (POST, 300 KB photo)",
                http,
                "POST",
                f"/me/lessons/{lesson_id}/handin",
                expect=303,
                data={"csrf": token, "body": f"My drawing, {who['number']}."},
                files=[("photos", (f"IMG_{who['index']:04d}.jpg", picture, "image/jpeg"))],
            )
            await rec.call("lesson after hand-in", http, "GET", handed.headers["location"])
        except (StepFailed, httpx.HTTPError):
            return


async def teacher_watches(
    http: httpx.AsyncClient, rec: Recorder, class_id: int, every_s: float, stop: asyncio.Event
) -> None:
    async with http:
        signed = await http.post(
            "/admin/signin",
            data={"csrf": csrf(await http.get("/admin/signin")), "username": TEACHER, "password": TEACHER_PASSWORD},
        )
        if signed.status_code != 303:
            rec.errors.append(f"teacher sign-in: {signed.status_code}")
            return
        while not stop.is_set():
            try:
                await rec.call("teacher: class overview", http, "GET", f"/teach/{class_id}/overview")
            except (StepFailed, httpx.HTTPError):
                pass
            try:
                await asyncio.wait_for(stop.wait(), every_s)
            except TimeoutError:
                pass


async def lesson(
    base_url: str,
    class_id: int,
    students: list[dict],
    setup: dict,
    think_s: tuple[float, float],
    ramp_s: float,
    overview_every_s: float,
) -> tuple[Recorder, float, dict]:
    phones, teacher = [phone(base_url) for _ in students], phone(base_url)
    rec, sent, stop = Recorder(), {}, asyncio.Event()
    watcher = asyncio.create_task(teacher_watches(teacher, rec, class_id, overview_every_s, stop))
    start = time.perf_counter()
    await asyncio.gather(
        *(student(http, rec, class_id, who, setup, think_s, ramp_s, sent) for http, who in zip(phones, students))
    )
    elapsed = time.perf_counter() - start
    stop.set()
    await watcher
    return rec, elapsed, sent


# --- memory --------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """The server and its descendants, from /proc/PID/task/*/children (cheap: not a scan of all of /proc, which
    would take this client's CPU and GIL from the students on a machine with many processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with os.scandir(f"/proc/{current}/task") as tasks:  # closed also when a thread ends while it is read
                for task in tasks:
                    todo.extend(int(c) for c in Path(task.path, "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


class PeakMemory(threading.Thread):
    """Peak VmRSS and RssAnon summed over the server's process tree (uvicorn's parent and workers)."""

    def __init__(self, pid: int, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s, self.stop_event = pid, interval_s, threading.Event()
        self.peak_rss_kb = self.peak_anon_kb = 0

    def run(self) -> None:
        while not self.stop_event.wait(self.interval_s):
            tree = process_tree(self.pid)
            self.peak_rss_kb = max(self.peak_rss_kb, sum(read_status_kb(p, "VmRSS") for p in tree))
            self.peak_anon_kb = max(self.peak_anon_kb, sum(read_status_kb(p, "RssAnon") for p in tree))


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by the server's process tree (live processes only)."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def windows(timeline: list[tuple[float, float]], width_s: float = 10.0) -> list[dict]:
    """Requests and their p95 per `width_s` seconds of the run (by start time): shows when the slow ones came."""
    found: dict[int, list[float]] = {}
    for started, latency in timeline:
        found.setdefault(int(started // width_s), []).append(latency)
    return [
        {"from_s": n * width_s, "requests": len(v), "p95_ms": round(percentile(v, 0.95) * 1000, 1)}
        for n, v in sorted(found.items())
    ]


# --- afterwards ----------------------------------------------------------------------------------


def check_consistency(data_dir: Path, students: list[dict], setup: dict, sent: dict) -> dict:
    """The database and the uploads folder after the lesson: a list of problems (empty when all is right)."""
    problems: list[str] = []
    db = sqlite3.connect(f"file:{data_dir / 'tpkit.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    folder = data_dir / "uploads" / "handins"
    handins = files_ok = attempts_ok = records_ok = 0
    for who in students:
        rows = db.execute(
            "SELECT * FROM handins WHERE lesson_id = ? AND account_id = ?", (setup["lesson_id"], who["id"])
        ).fetchall()
        if len(rows) != 1:
            problems.append(f"{who['number']}: {len(rows)} hand-ins in the database, expected 1")
        handins += len(rows)
        for row in rows:
            stored = db.execute("SELECT * FROM handin_files WHERE handin_id = ?", (row["id"],)).fetchall()
            if len(stored) != 1:
                problems.append(f"{who['number']}: hand-in {row['id']} has {len(stored)} files, expected 1")
            for file in stored:
                path = folder / file["stored_name"]
                data = path.read_bytes() if path.is_file() else b""
                size, digest = sent.get(who["id"], (None, None))
                # The kit writes a photo again (upright, no metadata): the file must match its row and still be
                # the picture that was sent, at its size in pixels.
                if not (
                    len(data) == file["size_bytes"]
                    and hashlib.sha256(data).hexdigest() == file["sha256"]
                    and size is not None
                    and _pixels(data) == PHOTO_SIZE
                ):
                    problems.append(
                        f"{who['number']}: {path.name} on disk ({len(data)} bytes) does not match "
                        f"its row or is not the {PHOTO_SIZE[0]} × {PHOTO_SIZE[1]} photo sent ({size} bytes)"
                    )
                else:
                    files_ok += 1
        attempts = db.execute(
            "SELECT * FROM quiz_attempts WHERE quiz_id = ? AND account_id = ?", (setup["quiz_id"], who["id"])
        ).fetchall()
        want = expected_score(who["index"])
        if len(attempts) != 1 or attempts[0]["handed_in_at"] is None or attempts[0]["score"] != want:
            problems.append(f"{who['number']}: quiz attempts {[dict(a) for a in attempts]}, expected one with {want}")
        else:
            attempts_ok += 1
        pseudonym = db.execute("SELECT pseudonym FROM accounts WHERE id = ?", (who["id"],)).fetchone()[0]
        verbs: dict[str, int] = {}
        for (text,) in db.execute("SELECT statement FROM learning_records WHERE account_id = ?", (who["id"],)):
            made = json.loads(text)
            if made["actor"]["account"]["name"] != pseudonym:
                problems.append(f"{who['number']}: a record's actor is not the student's pseudonym")
            verb = made["verb"]["id"].rsplit("/", 1)[1]
            verbs[verb] = verbs.get(verb, 0) + 1
        expected = expected_records(who["index"])
        if verbs != expected:
            problems.append(f"{who['number']}: learning records {verbs}, expected {expected}")
        else:
            records_ok += 1
    db.close()
    return {
        "handins": handins,
        "photos_matching": files_ok,
        "quiz_attempts_scored_right": attempts_ok,
        "students_with_expected_records": records_ok,
        "problems": problems,
        "ok": not problems,
    }


def expected_records(student_index: int) -> dict[str, int]:
    """xAPI verbs (last part of the id) per student for the lesson: opened the lesson and two articles (once each,
    although the article is reached through the item link and then /content), the quiz's attempted, 10 answered,
    scored, passed or failed, and the hand-in."""
    total = sum(question_points(f) for f, _, _ in QUESTIONS)
    passed = expected_score(student_index) / total >= 0.6
    return {
        "experienced": 1 + len(ARTICLES),
        "attempted": 1,
        "answered": len(QUESTIONS),
        "scored": 1,
        "passed" if passed else "failed": 1,
        "submit": 1,
    }


# --- the report ----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summarise(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def run(
    students: int = 60,
    think_s: tuple[float, float] = (1.0, 5.0),
    ramp_s: float = 20.0,
    overview_every_s: float = 3.0,
    work_dir: Path | None = None,
    python: str = sys.executable,
    workers: int | None = None,
) -> dict:
    """Set up, run the lesson, stop the server, check; the results as a dict."""
    work = Path(work_dir or tempfile.mkdtemp(prefix="tpkit-lesson-"))
    data_dir, content_dir = work / "data", work / "content"
    class_id, roster = prepare(data_dir, content_dir, students)
    command = (
        f"{python} -m appliance serve --host 127.0.0.1 --port {{port}} --data-dir {data_dir} "
        f"--content-dir {content_dir}" + (f" --web-workers {workers}" if workers else "")
    )
    server = ManagedServer("tpkit", command, {}, work)
    env_before = os.environ.get("TPKIT_LOG_LEVEL")
    os.environ["TPKIT_LOG_LEVEL"] = "warning"
    try:
        server.start("/learn")
    finally:
        if env_before is None:
            os.environ.pop("TPKIT_LOG_LEVEL", None)
        else:
            os.environ["TPKIT_LOG_LEVEL"] = env_before
    base_url = f"http://127.0.0.1:{server.port}"
    memory = PeakMemory(server.proc.pid)
    try:
        setup = teacher_sets_up(base_url, class_id)
        memory.start()
        load_before, cpu_before, client_before = os.getloadavg(), tree_cpu_s(server.proc.pid), time.process_time()
        rec, elapsed, sent = asyncio.run(lesson(base_url, class_id, roster, setup, think_s, ramp_s, overview_every_s))
        load_after, server_cpu = os.getloadavg(), tree_cpu_s(server.proc.pid) - cpu_before
        client_cpu = time.process_time() - client_before
        alive = server.alive()
    finally:
        memory.stop_event.set()
        server.stop()
    consistency = check_consistency(data_dir, roster, setup, sent)
    every = [v for step, values in rec.latencies.items() for v in values]
    student_steps = [v for step, values in rec.latencies.items() if not step.startswith("teacher") for v in values]
    return {
        "students": students,
        "think_s": list(think_s),
        "ramp_s": ramp_s,
        "overview_every_s": overview_every_s,
        "web_workers": workers or "default",
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "requests_per_s": round(len(every) / elapsed, 1) if elapsed else None,
        "errors": len(rec.errors),
        "error_samples": rec.errors[:10],
        "server_survived": alive,
        "overall": summarise(every) if every else None,
        "students_overall": summarise(student_steps) if student_steps else None,
        "steps": {step: summarise(values) for step, values in rec.latencies.items()},
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_request": round(server_cpu / len(every) * 1000, 2) if every else None,
        "client_cpu_s": round(client_cpu, 2),
        "by_10_s": windows(rec.timeline),
        "peak_rss_mb": round(memory.peak_rss_kb / 1024, 1),
        "peak_rss_anon_mb": round(memory.peak_anon_kb / 1024, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
        "consistency": consistency,
        "work_dir": str(work),
        "setup": {"class_id": class_id, **setup},
        "roster": [{k: who[k] for k in ("index", "id", "number")} for who in roster],
        "photos_sent": {str(k): list(v) for k, v in sent.items()},
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def table(result: dict) -> str:
    lines = [
        f"{result['students']} students, think {result['think_s'][0]:g}–{result['think_s'][1]:g} s, ramp "
        f"{result['ramp_s']:g} s, {result['requests']} requests in {result['seconds']} s "
        f"({result['requests_per_s']} req/s), errors {result['errors']}, peak RSS {result['peak_rss_mb']} MB "
        f"(anon {result['peak_rss_anon_mb']} MB), load {result['load_average_before'][0]} → "
        f"{result['load_average_after'][0]}; server CPU {result['server_cpu_s']} s "
        f"({result['server_cpu_ms_per_request']} ms/request), client CPU {result['client_cpu_s']} s",
        "p95 by 10 s of the run: "
        + ", ".join(f"{w['from_s']:g}s {w['p95_ms']:g} ms (n={w['requests']})" for w in result["by_10_s"]),
        "| step | n | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for step, s in [*result["steps"].items(), ("**all requests**", result["overall"])]:
        if s:
            lines.append(f"| {step} | {s['count']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['max_ms']} |")
    c = result["consistency"]
    lines.append(
        f"consistency: {'OK' if c['ok'] else 'PROBLEMS'}: {c['handins']} hand-ins, {c['photos_matching']} "
        f"photos matching, {c['quiz_attempts_scored_right']} quiz attempts scored right, "
        f"{c['students_with_expected_records']} students with the expected xAPI records"
    )
    lines += [f"  {p}" for p in c["problems"][:10]] + [f"  error: {e}" for e in result["error_samples"]]
    return "\n".join(lines)


def _span(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--think", type=_span, default=(1.0, 5.0), help="seconds between pages, LOW-HIGH (0: none)")
    parser.add_argument("--ramp", type=float, default=20.0, help="students start within this many seconds")
    parser.add_argument("--overview-every", type=float, default=3.0, help="the teacher reloads the overview (s)")
    parser.add_argument("--web-workers", type=int, default=None, help="default: the kit's setting (2)")
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a new temporary folder (kept)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    result = run(args.students, args.think, args.ramp, args.overview_every, args.work_dir, workers=args.web_workers)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    sys.exit(0 if result["errors"] == 0 and result["consistency"]["ok"] else 1)


if __name__ == "__main__":
    main()
