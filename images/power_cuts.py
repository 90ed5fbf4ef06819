"""The power-cut run's side on the host (images/image-test.sh --power-cuts N, images/power-cuts.sh): it drives the
booted kit through its own pages, as a teacher and her pupils would, and checks what a power cut may have lost.

    python3 power_cuts.py plan N SEED                       the phase and the moment (a fraction of the phase's
                                                            window) of each cut, one "phase fraction" line per cut
    python3 power_cuts.py setup BASE STATE PASSWORD         the administrator signs in, imports a class of 40, reads
                                                            their PINs (STATE, JSON)
    python3 power_cuts.py handins BASE STATE ROUND ACKS GO  a homework lesson for ROUND; the 40 pupils sign in, GO is
                                                            touched, then all hand in at once (a photo and a text);
                                                            every hand-in answered 303 is appended to ACKS at once
    python3 power_cuts.py lost BASE STATE ACKS              the teacher's pages after power-on: how many of ACKS are
                                                            missing (JSON on stdout)
    python3 power_cuts.py library BASE                      every book the library lists opens an article (JSON)
    python3 power_cuts.py book BASE NAME                    the test channel's book NAME: how often the catalogue
                                                            lists it, and the version each revised article is in
    python3 power_cuts.py is-version BOOK_JSON VERSION      0 when that book (from `book`) is VERSION, whole
    python3 power_cuts.py console LOG                       what in one boot's serial console needed a person (JSON)
    python3 power_cuts.py record CUT_DIR                    one cut's result (a JSON line) from its folder
    python3 power_cuts.py table RESULTS_JSONL JSON MD ...    the per-phase table from the cuts' results

Standard library only (the host's python3, as images/boot_checks.py). BASE is the kit's address from the test's
namespace (http://127.0.0.1:8080).
"""

from __future__ import annotations

import concurrent.futures
import html
import http.client
import json
import os
import random
import re
import struct
import sys
import time
import urllib.parse
import zlib
from pathlib import Path

PHASES = ("first boot", "kit.toml applied", "book activated", "40 hand-ins", "report written")
CHILDREN = 40
TIMEOUT_S = 120.0
# Serial console lines that mean a person is needed at the kit (a keyboard, a screen and root's password, which a
# kit does not have): fsck giving up, systemd's emergency or rescue shell, a start job that never ends.
PERSON_NEEDED = (
    (re.compile(r"RUN fsck MANUALLY|UNEXPECTED INCONSISTENCY"), "fsck asks a person"),
    (re.compile(r"emergency mode|Entering emergency|Give root password for maintenance"), "emergency shell"),
    (re.compile(r"rescue mode|Starting rescue"), "rescue shell"),
    (re.compile(r"Cannot open access to console, the root account is locked"), "emergency shell, root locked"),
    (re.compile(r"Kernel panic"), "kernel panic"),
)
STUCK = re.compile(r"A (?:start|stop) job is running for (.+?) \(")
# Lines worth showing beside a cut's result though they need nobody (journal replays, units that failed).
NOTABLE = re.compile(
    r"recovering journal|orphan inode|was not cleanly unmounted|contains a file system with errors|Failed to start|"
    r"Dependency failed|corrupt|malformed|Traceback|database disk image|I/O error|EXT4-fs error|fsck.*(?:error|fail)"
)


class Browser:
    """One person's browser: a cookie, no redirects followed (a 303 is the answer looked at)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, fields: dict | None = None, files: list | None = None
    ) -> tuple[int, str, str]:
        """(status, Location, body text)."""
        headers = {"Accept-Language": "en"}
        body: bytes | None = None
        if files:
            boundary = "powercut" + os.urandom(8).hex()
            body = _multipart(boundary, fields or {}, files)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode("utf-8", "replace")
            for value in answer.headers.get_all("Set-Cookie") or ():
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return answer.status, answer.headers.get("Location", ""), text
        finally:
            conn.close()

    def get(self, path: str) -> str:
        status, _, text = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return text


def _multipart(boundary: str, fields: dict, files: list) -> bytes:
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, kind, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        out.append(head.encode() + f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    if found is None:
        raise RuntimeError("no form on the page")
    return found.group(1)


def photo(seed: int, edge: int = 160) -> bytes:
    """A PNG of noise (~75 KB, different per seed): the kit writes it, scales it and makes its thumbnail."""
    rnd = random.Random(seed)
    rows = b"".join(b"\x00" + rnd.randbytes(edge * 3) for _ in range(edge))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", edge, edge, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def p95(values: list[float]) -> float:
    """The 95th percentile of page times, rounded to 10 ms (0.0 for none); the class-load and radio runs' tables."""
    return round(sorted(values)[max(0, int(0.95 * len(values)) - 1)], 2) if values else 0.0


def child_name(n: int) -> str:
    return f"Pupil {n + 1:02d}"


def sign_in_admin(base: str, password: str) -> Browser:
    b = Browser(base)
    page = b.get("/admin/signin")
    status, where, _ = b.request(
        "POST", "/admin/signin", {"csrf": csrf(page), "username": "admin", "password": password}
    )
    if status != 303:
        raise RuntimeError(f"the administrator's sign-in answered {status} {where}")
    return b


def setup(base: str, state_path: str, password: str) -> int:
    """A class of 40 imported from a CSV class list, their PINs read from the sign-in cards."""
    t = sign_in_admin(base, password)
    teach = t.get("/teach")
    rows = "学号,姓名\n" + "".join(f"{20260500 + n + 1},{child_name(n)}\n" for n in range(CHILDREN))
    status, _, done = t.request(
        "POST",
        "/teach/import",
        {"csrf": csrf(teach), "class_name": "Power Cut Class"},
        [("file", "class.csv", "text/csv", rows.encode())],
    )
    found = re.search(r'href="/teach/(\d+)"', done)
    if status != 200 or found is None:
        print(f"[✗] the class import answered {status}: {done[:300]}")
        return 1
    class_id = int(found.group(1))
    cards = t.get(f"/teach/{class_id}/cards")
    pins = {
        html.unescape(name): pin
        for name, pin in re.findall(
            r'<p class="card-name">(.*?)</p>\s*<p class="card-pin">.*?<b class="pin">(\d+)</b>', cards, re.S
        )
    }
    if len(pins) != CHILDREN:
        print(f"[✗] the sign-in cards show {len(pins)} PINs, {CHILDREN} expected")
        return 1
    Path(state_path).write_text(json.dumps({"password": password, "class_id": class_id, "pins": pins, "lessons": {}}))
    print(f"[✓] class {class_id} of {CHILDREN} pupils imported, their PINs read from the sign-in cards")
    return 0


def new_lesson(t: Browser, class_id: int, title: str) -> int:
    page = t.get(f"/teach/{class_id}/lessons/new")
    fields = {"csrf": csrf(page), "title": title, "homework": "1", "due": "", "instructions": "Hand in a photo."}
    status, where, text = t.request("POST", f"/teach/{class_id}/lessons", fields)
    if status != 303:
        raise RuntimeError(f"the new lesson answered {status}: {text[:300]}")
    lesson_id = int(where.rstrip("/").rsplit("/", 1)[1])
    page = t.get(f"/teach/lessons/{lesson_id}")
    if f'action="/teach/lessons/{lesson_id}/publish"' in page:
        status, _, text = t.request("POST", f"/teach/lessons/{lesson_id}/publish", {"csrf": csrf(page)})
        if status != 303:
            raise RuntimeError(f"publishing the lesson answered {status}: {text[:300]}")
    return lesson_id


def pupil_signs_in(base: str, class_id: int, name: str, pin: str) -> tuple[Browser, str]:
    b = Browser(base)
    names = b.get(f"/learn/{class_id}")
    found = re.search(rf'href="(/learn/{class_id}/\d+)">{re.escape(html.escape(name))}</a>', names)
    if found is None:
        raise RuntimeError(f"{name} is not on the names page")
    keypad = b.get(found.group(1))
    status, where, _ = b.request("POST", found.group(1), {"csrf": csrf(keypad), "pin": pin, "key": "go"})
    if status != 303 or where != "/me":
        raise RuntimeError(f"{name}'s PIN answered {status} {where}")
    return b, csrf(b.get("/me"))


def handins(base: str, state_path: str, round_name: str, acks_path: str, go_path: str) -> int:
    """A lesson for this round; every pupil signed in; then GO and the 40 hand-ins at once, each 303 written to ACKS
    (one JSON line, flushed) the moment it arrives. Errors after GO are expected: the power goes."""
    state = json.loads(Path(state_path).read_text())
    t = sign_in_admin(base, state["password"])
    lesson_id = new_lesson(t, state["class_id"], f"Power cut {round_name}")
    state["lessons"][round_name] = lesson_id
    Path(state_path).write_text(json.dumps(state))
    pupils = [
        (n, *pupil_signs_in(base, state["class_id"], child_name(n), state["pins"][child_name(n)]))
        for n in range(CHILDREN)
    ]
    pictures = {n: photo(n * 1000 + len(state["lessons"])) for n in range(CHILDREN)}
    Path(go_path).touch()
    started = time.monotonic()
    with open(acks_path, "a", encoding="utf-8") as acks:

        def one(n: int, b: Browser, token: str) -> str:
            body = f"powercut {round_name} pupil {n + 1:02d}"
            fields = {"csrf": token, "body": body}
            files = [("photos", f"IMG_{n:04d}.png", "image/png", pictures[n])]
            try:
                status, where, _ = b.request("POST", f"/me/lessons/{lesson_id}/handin", fields, files)
            except OSError as exc:
                return f"error {type(exc).__name__}"
            if status == 303 and "handed_in" in where:
                acks.write(
                    json.dumps({"round": round_name, "lesson": lesson_id, "pupil": child_name(n), "body": body}) + "\n"
                )
                acks.flush()
                return "acknowledged"
            return f"answered {status}"

        with concurrent.futures.ThreadPoolExecutor(CHILDREN) as pool:
            outcomes = list(pool.map(lambda p: one(*p), pupils))
    took = time.monotonic() - started
    counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
    print(json.dumps({"lesson": lesson_id, "seconds": round(took, 1), "outcomes": counts}))
    return 0


def lost(base: str, state_path: str, acks_path: str) -> int:
    """Each acknowledged hand-in read back as the teacher: its pupil listed on its lesson's page with a hand-in whose
    page shows its text. Prints {"acknowledged": A, "lost": L, "missing": [...]}."""
    state = json.loads(Path(state_path).read_text())
    acked = [json.loads(line) for line in Path(acks_path).read_text().splitlines() if line.strip()]
    t = sign_in_admin(base, state["password"])
    pages: dict[int, dict[str, str]] = {}
    missing = []
    for ack in acked:
        lesson = ack["lesson"]
        if lesson not in pages:
            page = t.get(f"/teach/lessons/{lesson}")
            pages[lesson] = {
                html.unescape(name): handin
                for handin, name in re.findall(r'<a href="/teach/handins/(\d+)">(.*?)</a>', page)
            }
        handin = pages[lesson].get(ack["pupil"])
        if handin is None or ack["body"] not in html.unescape(t.get(f"/teach/handins/{handin}")):
            missing.append(f"{ack['round']}: {ack['pupil']}")
    print(json.dumps({"acknowledged": len(acked), "lost": len(missing), "missing": missing}))
    return 0


def library(base: str) -> int:
    """Every book the library lists (its OPDS catalogue) opens: its main page, and an article it links to."""
    b = Browser(base)
    status, _, feed = b.request("GET", "/catalog/v2/entries?count=-1")
    if status != 200:
        print(json.dumps({"books": None, "broken": [f"catalogue answered {status}"]}))
        return 0
    books = sorted(set(re.findall(r'href="/content/([^/"]+)/?"', feed)))
    broken, opened = [], 0
    for book in books:
        status, where, page = b.request("GET", f"/content/{book}/")
        where = where or f"/content/{book}/"
        if status in (301, 302, 303, 307) and where:
            status, _, page = b.request("GET", urllib.parse.urljoin(f"/content/{book}/", where))
        if status != 200:
            broken.append(f"{book}: main page {status}")
            continue
        links = [
            h for h in re.findall(r'href="([^"#?:]+)"', page) if not h.startswith("/") or h.startswith("/content/")
        ]
        article = next((h for h in links if not h.endswith((".css", ".js", ".png", ".ico", ".svg"))), None)
        if article is None:
            broken.append(f"{book}: its main page links to no article")
            continue
        status, _, _ = b.request("GET", urllib.parse.urljoin(f"/content/{book}/{where.rsplit('/', 1)[-1]}", article))
        if status not in (200, 301, 302, 303):
            broken.append(f"{book}: article {article} answered {status}")
        else:
            opened += 1
    print(json.dumps({"books": len(books), "articles_opened": opened, "broken": broken}))
    return 0


# Articles the test channel's book rewrites in every version from 2 on (images/class_book.py: every 25th), and the
# line each rewritten one carries.
REVISED_ARTICLES = ("article0", "article25", "article1475")
REVISED = re.compile(r"Revised in version (\d+)\.")


def book(base: str, name: str) -> int:
    """The book NAME as the kit serves it (JSON): how many catalogue entries name it, and for each article every
    version rewrites, the version it is in (1: not rewritten; null: it did not open)."""
    b = Browser(base)
    status, _, feed = b.request("GET", "/catalog/v2/entries?count=-1")
    link = re.compile(rf'href="/content/{re.escape(name)}/?"')
    listed = sum(1 for entry in feed.split("<entry")[1:] if link.search(entry)) if status == 200 else None
    versions: dict[str, int | None] = {}
    for article in REVISED_ARTICLES:
        status, _, page = b.request("GET", f"/content/{name}/{article}")
        found = REVISED.search(page) if status == 200 else None
        versions[article] = None if status != 200 else int(found.group(1)) if found else 1
    print(json.dumps({"listed": listed, "versions": versions}))
    return 0


# How far a stick's import had gone when the power went, from the console of the boot that was cut (the steps
# `tpkit-usb-import@` prints, services/sync/stick_import.py and the sync engine's progress lines).
IMPORT_STEPS = (
    ("failed", re.compile(r"tpkit-usb-import@\S+: Failed with result|Failed to start tpkit-usb-import@")),
    ("finished", re.compile(r"tpkit-usb-import@\S+: Deactivated successfully|Finished tpkit-usb-import@")),
    ("switched in", re.compile(r"\[i\] switched in ")),
    ("rebuilding from the patch", re.compile(r"\[i\] rebuilding \S+ from \d+ patch")),
    ("verifying", re.compile(r"\[i\] verifying ")),
    ("stick mounted", re.compile(r"mounted read-only at ")),
    ("unit started", re.compile(r"Starting tpkit-usb-import@")),
)


def import_stage(console_text: str) -> str:
    """The last step of a stick's import the console shows ("not started" when none)."""
    return next((name for name, pattern in IMPORT_STEPS if pattern.search(console_text)), "not started")


def half_activated(state: dict, allowed: set[int]) -> list[str]:
    """Why the book in STATE (from `book`) is not one whole version among ALLOWED (empty when it is)."""
    if not state:
        return ["the book's check did not run"]
    why = []
    if state.get("listed") != 1:
        why.append(f"the catalogue lists it {state.get('listed')} times")
    versions = state.get("versions") or {}
    if None in versions.values():
        why.append("articles that do not open: " + ", ".join(a for a, v in versions.items() if v is None))
    seen = {v for v in versions.values() if v is not None}
    if len(seen) > 1:
        why.append(f"articles of versions {sorted(seen)} at once")
    elif seen and not seen <= allowed:
        why.append(f"version {seen.pop()}, expected {' or '.join(str(v) for v in sorted(allowed))}")
    return why


def is_version(state_path: str, version: str) -> int:
    why = half_activated(json.loads(Path(state_path).read_text() or "{}"), {int(version)})
    print(
        f"[{'✗' if why else '✓'}] the book is {'not ' if why else ''}version {version}, whole"
        + "".join(f"; {w}" for w in why)
    )
    return 1 if why else 0


def console(log_path: str) -> int:
    """What one boot's console shows: the reasons a person was needed, units stuck, notable lines (JSON)."""
    text = Path(log_path).read_text(encoding="utf-8", errors="replace")
    person = sorted({why for pattern, why in PERSON_NEEDED if pattern.search(text)})
    stuck = sorted(set(STUCK.findall(text)))
    notable = [line.strip()[:200] for line in text.splitlines() if NOTABLE.search(line)][:20]
    print(json.dumps({"person": person, "stuck": stuck, "notable": notable}))
    return 0


def record(cut_dir: str) -> int:
    """One cut's result as a JSON line, from what images/power-cuts.sh left in CUT_DIR: meta (key=value lines),
    console.log (the boot after the cut), home.html, library.json, lost.json."""
    folder = Path(cut_dir)

    def read_json(name: str) -> dict:
        path = folder / name
        return json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}

    meta = dict(line.split("=", 1) for line in (folder / "meta").read_text().splitlines() if "=" in line)
    result: dict = {"cut": int(meta["cut"]), "phase": meta["phase"], "fraction": float(meta["fraction"])}
    result["after_s"] = float(meta.get("after_s") or 0)
    if meta.get("after_acks"):
        result["after_acks"] = int(meta["after_acks"])  # 40 hand-ins: cut right after this many were acknowledged
    serving = meta.get("not_serving") == "0"
    result["not_serving"] = int(not serving)
    result["boot_s"] = int(meta["boot_s"]) if meta.get("boot_s") else None
    text = (
        (folder / "console.log").read_text(encoding="utf-8", errors="replace")
        if (folder / "console.log").exists()
        else ""
    )
    person = sorted({why for pattern, why in PERSON_NEEDED if pattern.search(text)})
    stuck = sorted(set(STUCK.findall(text)))
    if stuck and not serving:
        person.append("stuck: " + ", ".join(stuck))
    result["person"] = int(bool(person))
    result["person_why"] = person
    result["stuck"] = stuck
    result["notable"] = [line.strip()[:200] for line in text.splitlines() if NOTABLE.search(line)][:20]
    library_found = read_json("library.json")
    result["books"] = library_found.get("books")
    result["libraries_broken"] = int(
        bool(library_found.get("broken")) or (serving and library_found.get("books") is None)
    )
    result["library_broken"] = library_found.get("broken", [])
    # A book activated from a stick (the sync's engine, a stick as its source) when the power went: after power-on
    # it must be the version before or the new one, whole; with the stick plugged in again, the new one.
    if meta.get("stick") and serving:
        new = int(meta["stick"])
        before, after = read_json("book.json"), read_json("book-after.json")
        why = half_activated(before, {new - 1, new})
        if not why:
            why = [f"with the stick again: {reason}" for reason in half_activated(after, {new})]
        result["book_versions"] = (before.get("versions"), after.get("versions"))
        cut_console = folder / "console-cut.log"
        if cut_console.exists():
            result["import_stage"] = import_stage(cut_console.read_text(encoding="utf-8", errors="replace"))
        result["half_activated"] = int(bool(why))
        result["book_why"] = why
    else:
        result["half_activated"] = 0
    lost_found = read_json("lost.json")
    if lost_found:
        result["handins_acknowledged"] = lost_found.get("acknowledged")
        result["handins_lost"] = (
            lost_found.get("lost") if lost_found.get("lost") is not None else lost_found.get("acknowledged")
        )
        result["handins_missing"] = lost_found.get("missing", [])
    school = meta.get("expect_school")
    if school and serving:
        home = (folder / "home.html").read_text(encoding="utf-8", errors="replace")
        result["settings_lost"] = int(html.escape(school) not in home and school not in home)
    handins = read_json("handins.json")
    if handins:
        result["handins_outcomes"] = handins.get("outcomes")
    print(json.dumps(result, ensure_ascii=False))
    return 0


def plan(n: str, seed: str) -> int:
    """N cuts spread evenly over the phases in an order and at moments drawn from SEED."""
    rnd = random.Random(int(seed))
    phases = [PHASES[i % len(PHASES)] for i in range(int(n))]
    rnd.shuffle(phases)
    for phase in phases:
        print(f"{phase.replace(' ', '_')} {rnd.random():.4f}")
    return 0


COUNTS = (
    ("cuts", "cuts"),
    ("not_serving", "did not come back serving"),
    ("person", "boot needed a person"),
    ("handins_lost", "acknowledged hand-ins lost"),
    ("libraries_broken", "libraries left broken"),
    ("half_activated", "books half-activated"),
    ("settings_lost", "kit.toml not in force after power-on"),
)


def table(results_path: str, json_path: str, md_path: str, *about: str) -> int:
    """Per phase and in total; ABOUT (key=value words: arch, accel, seed, wall time…) heads both files."""
    cuts = [json.loads(line) for line in Path(results_path).read_text().splitlines() if line.strip()]
    rows: dict[str, dict[str, int]] = {}
    for cut in cuts:
        for key in (cut["phase"], "total"):
            row = rows.setdefault(key, dict.fromkeys((k for k, _ in COUNTS), 0))
            row["cuts"] += 1
            for k, _ in COUNTS[1:]:
                row[k] += int(cut.get(k, 0))
    rows["total"] = rows.pop("total", dict.fromkeys((k for k, _ in COUNTS), 0))
    head = dict(word.split("=", 1) for word in about)
    Path(json_path).write_text(json.dumps({"run": head, "table": rows, "cuts": cuts}, indent=1, ensure_ascii=False))
    lines = [
        "| phase | " + " | ".join(label for _, label in COUNTS) + " |",
        "|---" * (len(COUNTS) + 1) + "|",
    ]
    for phase, row in rows.items():
        cells = " | ".join(str(row[k]) for k, _ in COUNTS)
        lines.append(f"| {'**total**' if phase == 'total' else phase} | {cells} |")
    text = " ".join(f"{k}={v}" for k, v in head.items()) + "\n\n" + "\n".join(lines) + "\n"
    Path(md_path).write_text(text)
    print(text)
    return 0


COMMANDS = {
    "plan": (plan, 2),
    "setup": (setup, 3),
    "handins": (handins, 5),
    "lost": (lost, 3),
    "library": (library, 1),
    "book": (book, 2),
    "is-version": (is_version, 2),
    "console": (console, 1),
    "record": (record, 1),
}

if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "table":
        sys.exit(table(*sys.argv[2:]))
    found = COMMANDS.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if found is None or len(sys.argv) != found[1] + 2:
        sys.exit(__doc__)
    sys.exit(found[0](*sys.argv[2:]))
