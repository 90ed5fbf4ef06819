"""A teacher's day against a real `tpkit serve` on loopback (issue 16, "How it is checked", second bullet).

    .venv/bin/python bench/teachers_day.py [--children 40] [--json FILE] [--md FILE] [--work-dir DIR]

Setup (not timed): a data folder with the demo library (`tpkit demo`'s books, written with libzim's writer) and one
teacher made through the services the CLI uses; then `tpkit serve` (uvicorn, the kit's `web_workers`) on a free
127.0.0.1 port. Then, over HTTP only, every page in Chinese (Accept-Language zh-CN), through a counting browser
(bench/teachers_day_browser.py: page loads, bytes on the wire, time to last byte, a browser's cache for pictures):

  1. the teacher imports a class list of N children (.xlsx made with openpyxl: 学号, 姓名, 性别, 出生日期) through
     /teach/import and opens the sign-in cards (/teach/<class>/cards), where the children's PINs are read;
  2. makes a homework lesson, searches the library, adds two articles of the Chinese demo book and uploads a PDF;
  3. pastes a 10-question quiz (GIFT) through /teach/<class>/quizzes/paste; when that page answers 404 (not built on
     this branch) the quiz is written in the existing form instead, one "add a question" press per question as a
     teacher must, and the result says "paste: not available";
  4. the N children at once (asyncio + httpx, one client and cookie jar per child): class → name → PIN → my space →
     the lesson → hand in a photo (a ~1.5 MB 2560 × 1920 JPEG of noise at several scales, so neither the upload nor
     its scaled copies compress away) → the quiz → start → answers → result; p50/p95/p99 per request kind;
  5. the teacher grades every hand-in: the lesson page, then /teach/handins/<id> and its grade form with next=1 (one
     hand-in after another); when that page answers 404, the grade forms on the lesson page, which comes back after
     each one (the result says which way was used); every picture each page names is loaded as a browser would;
  6. opens the class overview and downloads its CSV.

Then the server stops and the database is checked (every hand-in graded, every quiz handed in). The result: a table
per step (page loads, requests, bytes on the wire, server time sum and p95) and the targets of issue 16, each PASS or
FAIL: grading N photo hand-ins ≤ 3 MB on the wire, a 10-question quiz pasted in ≤ 3 page loads, every teacher page
≤ 30 KB before pictures, p95 ≤ 300 ms with the children working at once. JSON (--json) and Markdown (--md, and
stdout). Exit status 1 when a step failed or the database is not as the day left it (a FAIL of a target is a
result, not an error).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import io
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.lesson import kit_with_teacher, percentile, summarise, tree_cpu_s  # noqa: E402
from bench.servers import ManagedServer  # noqa: E402
from bench.teachers_day_browser import Browser, Fetch, PageLoad, StepFailed  # noqa: E402

TEACHER, TEACHER_PASSWORD = "wang.laoshi", "chalk and blackboard 42"
CLASS_NAME = "五年级二班"
BOOK = "tpkit_demo_zh"
ARTICLES = (("shui_xunhuan", "水循环"), ("zhiwu", "植物"))  # (path, what the teacher searches) in the Chinese demo book
PHOTO_SIZE = (2560, 1920)  # a 5 MP phone photo; ~1.5 MB as a JPEG at quality 85
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Targets of issue 16 ("How it is checked"), in the units the tests use (tests/web/test_pages_browser.py: 30 * 1024).
GRADING_MAX_BYTES = 3 * 1024 * 1024
QUIZ_MAX_PAGE_LOADS = 3
TEACHER_PAGE_MAX_BYTES = 30 * 1024
CHILDREN_P95_MAX_S = 0.300

STEPS = (
    "0. teacher signs in",
    "1. import the class list",
    "2. lesson: two articles and a PDF",
    "3. paste a 10-question quiz",
    "4. children: sign in, hand in, quiz",
    "5. grade every hand-in",
    "6. overview and its CSV",
)
SIGN_IN, IMPORT, LESSON, QUIZ, CHILDREN, GRADING, EXPORT = STEPS

# The quiz: (kind, prompt, options, right answer) — right is an option's text, "true"/"false", accepted answers, a
# number. Written for the paste as GIFT (gift_text) and for the existing form as its fields (form_fields).
QUESTIONS: list[tuple[str, str, list[str], object]] = [
    ("single", "植物吸收哪种气体？", ["氧气", "二氧化碳", "氦气"], "二氧化碳"),
    ("single", "雨从哪里来？", ["云", "石头", "土地"], "云"),
    ("single", "水变成冰需要什么？", ["变冷", "变热", "刮风"], "变冷"),
    ("single", "月亮绕着什么转？", ["地球", "太阳", "火星"], "地球"),
    ("true_false", "太阳是一颗恒星。", [], "true"),
    ("true_false", "植物不需要阳光。", [], "false"),
    ("short", "植物制造养分的过程叫什么？", [], ["光合作用", "photosynthesis"]),
    ("short", "云里落下来的水叫什么？", [], ["雨", "雨水"]),
    ("numeric", "7 ÷ 2 等于多少？", [], 3.5),
    ("numeric", "蜘蛛有几条腿？", [], 8),
]
WRONG = {"single": None, "true_false": None, "short": "石头", "numeric": "1"}


def gift_text() -> str:
    """The quiz as a teacher would paste it (GIFT, as Moodle writes it): one question per paragraph."""
    blocks = []
    for n, (kind, prompt, options, right) in enumerate(QUESTIONS, 1):
        if kind == "single":
            answer = " ".join(("=" if o == right else "~") + o for o in options)
        elif kind == "true_false":
            answer = "T" if right == "true" else "F"
        elif kind == "short":
            answer = " ".join("=" + a for a in right)
        else:
            answer = f"#{right}"
        blocks.append(f"::第{n}题:: {prompt} {{{answer}}}")
    return "\n\n".join(blocks) + "\n"


def form_fields(n: int) -> dict:
    """Question n as the existing quiz form posts it (quiz_drafts: qN-kind, qN-prompt, qN-optionK, qN-right...)."""
    kind, prompt, options, right = QUESTIONS[n]
    fields: dict = {f"q{n}-kind": kind, f"q{n}-prompt": prompt, f"q{n}-points": "1"}
    if kind == "single":
        fields.update({f"q{n}-option{k}": o for k, o in enumerate(options)})
        fields[f"q{n}-right"] = [str(options.index(right))]
    elif kind == "true_false":
        fields[f"q{n}-tf"] = right
    elif kind == "short":
        fields[f"q{n}-accepted"] = "\n".join(right)
    else:
        fields.update({f"q{n}-number": str(right), f"q{n}-tolerance": "0"})
    return fields


# --- what the teacher and the children send --------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_1 = "子梓欣浩宇雨佳思俊嘉"
GIVEN_2 = "涵轩怡然博琪睿彤豪萱"


def child_name(n: int) -> str:
    """A different Chinese name for each n below 200."""
    return SURNAMES[n % 20] + GIVEN_1[(n // 20) % 10] + GIVEN_2[n % 10]


def class_list_xlsx(children: int) -> bytes:
    """The class list a school office hands out: 学号, 姓名, 性别, 出生日期 (the last two are left out by the kit)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["学号", "姓名", "性别", "出生日期"])
    for n in range(children):
        sheet.append([f"2026050{n + 1:02d}", child_name(n), "男女"[n % 2], dt.date(2015, 1 + n % 12, 1 + n % 28)])
        sheet.cell(row=n + 2, column=4).number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def photo(n: int) -> bytes:
    """A phone photo of about 1.5 MB, different for every child: noise at four scales (pixels, 4, 16 and 64 pixels
    wide) so that neither the JPEG nor the kit's scaled-down copies and thumbnails compress it away (noise of single
    pixels alone averages out when scaled: its thumbnail would be a few KB, kinder than a real photo's)."""
    from PIL import Image

    rng = random.Random(n)
    w, h = PHOTO_SIZE
    layers = []
    for div in (64, 16, 4, 1):
        size = (max(1, w // div), max(1, h // div))
        layers.append(Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).resize(PHOTO_SIZE))
    image = layers[0]
    for layer, share in zip(layers[1:], (0.5, 0.35, 0.15)):
        image = Image.blend(image, layer, share)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def worksheet_pdf() -> bytes:
    """A one-page PDF worksheet (an A4 page at 100 dpi, written by Pillow)."""
    from PIL import Image, ImageDraw

    page = Image.new("RGB", (827, 1169), "white")
    draw = ImageDraw.Draw(page)
    for y in range(120, 1100, 60):
        draw.line((80, y, 747, y), fill=(120, 120, 120), width=2)
    draw.ellipse((300, 200, 520, 420), outline=(40, 90, 200), width=6)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=100)
    return out.getvalue()


def answers_right(child: int) -> list[bool]:
    """Which questions child n answers right: a fixed pattern, so scores differ."""
    return [(child + q) % 3 != 0 for q in range(len(QUESTIONS))]


# --- reading pages -----------------------------------------------------------------------------------------------------


def csrf(page: PageLoad) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if found is None:
        raise StepFailed(f"{page.step}: no form on {page.url}")
    return found.group(1)


def form_values(page_html: str, action: str) -> dict[str, str]:
    """What a browser sends for the form posting to `action` as the page filled it in: hidden and text inputs,
    checked boxes, the selected (or first) option of each select, each textarea (buttons are the caller's)."""
    found = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', page_html, re.S)
    if found is None:
        raise StepFailed(f"no form posting to {action}")
    body, values = found.group(1), {}
    for tag in re.findall(r"<input\b[^>]*>", body):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag))
        kind = attrs.get("type", "text")
        if "name" not in attrs or kind in ("submit", "button", "file", "image", "reset"):
            continue
        if kind in ("checkbox", "radio") and " checked" not in tag:
            continue
        values[attrs["name"]] = html.unescape(attrs.get("value", "on" if kind in ("checkbox", "radio") else ""))
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S):
        values[name] = html.unescape(text)
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.findall(r'<option[^>]*value="([^"]*)"[^>]*\sselected', options) or re.findall(
            r'<option[^>]*value="([^"]*)"', options
        )
        if chosen:
            values[name] = html.unescape(chosen[0])
    return values


def quiz_answers(page_html: str, child: int) -> dict:
    """The child's answers to the quiz page's questions, found by their prompts (right or wrong by answers_right)."""
    by_prompt = {prompt: (q, kind, right) for q, (kind, prompt, _, right) in enumerate(QUESTIONS)}
    answers: dict = {}
    for n, prompt, body in re.findall(
        r'<fieldset class="question" id="q(\d+)">\s*<legend>\d+\. (.*?)</legend>(.*?)</fieldset>', page_html, re.S
    ):
        q, kind, right = by_prompt[html.unescape(prompt).strip()]
        ok = answers_right(child)[q]
        field = f"a{n}"
        if kind in ("single", "multiple"):
            choices = [(v, html.unescape(t).strip()) for v, t in re.findall(r'value="(\d+)"> (.*?)</label>', body)]
            pick = [v for v, text in choices if (text == right) == ok]
            answers[field] = pick[:1]
        elif kind == "true_false":
            answers[field] = right if ok else {"true": "false", "false": "true"}[right]
        elif kind == "short":
            answers[field] = right[0] if ok else WRONG["short"]
        else:
            answers[field] = str(right) if ok else WRONG["numeric"]
    if len(answers) != len(QUESTIONS):
        raise StepFailed(f"the quiz page shows {len(answers)} questions, expected {len(QUESTIONS)}")
    return answers


# --- setup (not timed) -------------------------------------------------------------------------------------------------


def prepare(data_dir: Path, content_dir: Path) -> None:
    """The demo books and one teacher who has chosen her own password, through the services."""
    kit_with_teacher(data_dir, content_dir, "王老师", TEACHER, TEACHER_PASSWORD).close()


# --- the day -----------------------------------------------------------------------------------------------------------


class Day:
    """What the steps found (ids, PINs) and every page load, per step."""

    def __init__(self, children: int) -> None:
        self.children = children
        self.pages: list[PageLoad] = []
        self.notes: dict[str, str] = {}
        self.wall_s: dict[str, float] = {}
        self.cpu_s: dict[str, tuple[float, float]] = {}  # per step: the server's CPU seconds, this client's
        self.class_id = self.lesson_id = self.quiz_id = 0
        self.pins: dict[str, str] = {}
        self.handins_graded = 0
        self.csv_rows: list[str] = []

    async def load(self, browser: Browser, step: str, kind: str, method: str, url: str, **kwargs) -> PageLoad:
        page = await browser.load(step, kind, method, url, **kwargs)
        self.pages.append(page)
        return page


async def teacher_signs_in(day: Day, t: Browser) -> None:
    page = await day.load(t, SIGN_IN, "sign-in page", "GET", "/admin/signin")
    await day.load(
        t,
        SIGN_IN,
        "sign-in (POST)",
        "POST",
        "/admin/signin",
        data={"csrf": csrf(page), "username": TEACHER, "password": TEACHER_PASSWORD},
    )


async def import_class(day: Day, t: Browser) -> None:
    teach = await day.load(t, IMPORT, "/teach", "GET", "/teach")
    done = await day.load(
        t,
        IMPORT,
        "import (POST)",
        "POST",
        "/teach/import",
        data={"csrf": csrf(teach), "class_name": CLASS_NAME},
        files={"file": (f"{CLASS_NAME}.xlsx", class_list_xlsx(day.children), XLSX)},
    )
    found = re.search(r'href="/teach/(\d+)"', done.text)
    if found is None:
        raise StepFailed("the import's answer names no class")
    day.class_id = int(found.group(1))
    cards = await day.load(t, IMPORT, "sign-in cards", "GET", f"/teach/{day.class_id}/cards")
    for name, pin in re.findall(
        r'<p class="card-name">(.*?)</p>\s*<p class="card-pin">.*?<b class="pin">(\d+)</b>', cards.text, re.S
    ):
        day.pins[html.unescape(name)] = pin
    if len(day.pins) != day.children:
        raise StepFailed(f"the cards show {len(day.pins)} PINs, expected {day.children}")


async def make_lesson(day: Day, t: Browser) -> None:
    await day.load(t, LESSON, "class page", "GET", f"/teach/{day.class_id}")
    new = await day.load(t, LESSON, "new lesson", "GET", f"/teach/{day.class_id}/lessons/new")
    made = await day.load(
        t,
        LESSON,
        "new lesson (POST)",
        "POST",
        f"/teach/{day.class_id}/lessons",
        data={
            "csrf": csrf(new),
            "title": "水循环和植物",
            "homework": "1",
            "due": "",
            "instructions": "读两篇文章，做小测验，再拍一张你画的水循环交上来。",
        },
    )
    day.lesson_id = int(made.location.rsplit("/", 1)[1])
    lesson_url = f"/teach/lessons/{day.lesson_id}"
    found = await day.load(t, LESSON, "lesson page", "GET", lesson_url)
    for path, words in ARTICLES:
        found = await day.load(t, LESSON, "library search", "GET", lesson_url, params={"q": words})
        if f'name="path" value="{path}"' not in found.text:
            raise StepFailed(f"the lesson page's search for {words} does not offer {BOOK}/{path}")
        found = await day.load(
            t,
            LESSON,
            "add an article (POST)",
            "POST",
            f"{lesson_url}/items",
            data={"csrf": csrf(found), "book": BOOK, "path": path},
        )
    await day.load(
        t,
        LESSON,
        "upload a PDF (POST)",
        "POST",
        f"{lesson_url}/uploads",
        data={"csrf": csrf(found), "title": "水循环练习"},
        files={"file": ("水循环练习.pdf", worksheet_pdf(), "application/pdf")},
    )


async def make_quiz(day: Day, t: Browser) -> None:
    paste_url = f"/teach/{day.class_id}/quizzes/paste"
    probe = await t.http.get(paste_url)  # not counted: a teacher never opens a page that is not there
    if probe.status_code != 404:
        form = await day.load(t, QUIZ, "paste form", "GET", paste_url)
        sent = await day.load(
            t,
            QUIZ,
            "paste (POST)",
            "POST",
            paste_url,
            data={"csrf": csrf(form), "title": "水和植物小测验", "text": gift_text(), "format": "gift"},
        )
        found = re.fullmatch(r"/teach/quizzes/(\d+)/edit", sent.location)
        if found is None:
            raise StepFailed(f"the paste did not lead to a quiz's edit page: {sent.location!r} {sent.text[:300]!r}")
        day.quiz_id, day.notes["quiz"] = int(found.group(1)), "paste"
        return
    day.notes["quiz"] = "paste: not available (404); the existing form, one page load per added question"
    page = await day.load(t, QUIZ, "new quiz form", "GET", f"/teach/{day.class_id}/quizzes/new")
    fields: dict = {"csrf": csrf(page), "title": "水和植物小测验", "attempts": "1", "due": "", "pass": "60"}
    for n in range(len(QUESTIONS)):
        fields.update(form_fields(n))
        fields["count"] = str(n + 1)
        last = n == len(QUESTIONS) - 1
        page = await day.load(
            t,
            QUIZ,
            "save (POST)" if last else "add a question (POST)",
            "POST",
            f"/teach/{day.class_id}/quizzes",
            data={**fields, "action": "save" if last else "add"},
        )
    found = re.fullmatch(r"/teach/quizzes/(\d+)", page.location)
    if found is None:
        raise StepFailed(f"the quiz form did not save: {page.text[:300]!r}")
    day.quiz_id = int(found.group(1))


async def child(day: Day, b: Browser, n: int, picture: bytes, errors: list[str]) -> None:
    """One child's part of the lesson; a failed step ends this child's day (and is an error)."""
    name = child_name(n)
    try:
        await day.load(b, CHILDREN, "sign-in: classes", "GET", "/learn")
        names = await day.load(b, CHILDREN, "sign-in: names", "GET", f"/learn/{day.class_id}")
        found = re.search(rf'href="(/learn/{day.class_id}/\d+)">{re.escape(html.escape(name))}</a>', names.text)
        if found is None:
            raise StepFailed(f"{name} is not on the names page")
        keypad = await day.load(b, CHILDREN, "sign-in: PIN page", "GET", found.group(1))
        me = await day.load(
            b,
            CHILDREN,
            "sign-in: PIN (POST)",
            "POST",
            found.group(1),
            data={"csrf": csrf(keypad), "pin": day.pins[name], "key": "go"},
        )
        if me.location != "/me":
            raise StepFailed(f"{name}'s PIN did not open /me: {me.location!r}")
        token = csrf(me)
        await day.load(b, CHILDREN, "lesson", "GET", f"/me/lessons/{day.lesson_id}")
        await day.load(
            b,
            CHILDREN,
            "hand-in (POST, photo)",
            "POST",
            f"/me/lessons/{day.lesson_id}/handin",
            data={"csrf": token, "body": "我画的水循环。"},
            files=[("photos", (f"IMG_{n:04d}.jpg", picture, "image/jpeg"))],
        )
        await day.load(b, CHILDREN, "quiz page", "GET", f"/me/quizzes/{day.quiz_id}")
        started = await day.load(
            b, CHILDREN, "quiz: start (POST)", "POST", f"/me/quizzes/{day.quiz_id}/start", data={"csrf": token}
        )
        await day.load(
            b,
            CHILDREN,
            "quiz: answers (POST)",
            "POST",
            started.location,
            data={"csrf": token, **quiz_answers(started.text, n)},
        )
    except (StepFailed, KeyError) as exc:
        errors.append(f"child {n} ({name}): {exc}")
    except Exception as exc:  # noqa: BLE001 - a network error of one child is a result, the others go on
        errors.append(f"child {n} ({name}): {type(exc).__name__} {exc}")


async def grade_all(day: Day, t: Browser) -> None:
    lesson_url = f"/teach/lessons/{day.lesson_id}"
    page = await day.load(t, GRADING, "lesson page", "GET", lesson_url)
    ids = list(dict.fromkeys(re.findall(r'href="/teach/handins/(\d+)"', page.text))) or list(
        dict.fromkeys(re.findall(r'id="handin-(\d+)"', page.text))
    )
    if len(ids) != day.children:
        raise StepFailed(f"the lesson page shows {len(ids)} hand-ins, expected {day.children}")
    probe = await t.http.get(f"/teach/handins/{ids[0]}")  # not counted, as in make_quiz
    if probe.status_code != 404:
        day.notes["grading"] = "the hand-in page (/teach/handins/<id>, next=1)"
        url = f"/teach/handins/{ids[0]}"
        page = await day.load(t, GRADING, "hand-in page", "GET", url)
        for graded in range(len(ids) + 1):
            handin_id = url.rsplit("/", 1)[1]
            values = form_values(page.text, f"/teach/handins/{handin_id}/grade")
            values.update({"action": "grade", "score": str(60 + graded % 40), "comment": "画得很好。", "next": "1"})
            values.setdefault("out_of", "100")
            page = await day.load(
                t, GRADING, "grade, next (POST)", "POST", f"/teach/handins/{handin_id}/grade", data=values
            )
            day.handins_graded += 1
            if not re.fullmatch(r"/teach/handins/\d+", page.location):
                break
            url = page.location
        return
    day.notes["grading"] = "the lesson page's grade forms (/teach/handins/<id> answered 404)"
    for n, handin_id in enumerate(ids):
        values = form_values(page.text, f"/teach/handins/{handin_id}/grade")
        values.update({"action": "grade", "score": str(60 + n % 40), "comment": "画得很好。"})
        page = await day.load(t, GRADING, "grade (POST)", "POST", f"/teach/handins/{handin_id}/grade", data=values)
        day.handins_graded += 1


async def export(day: Day, t: Browser) -> None:
    await day.load(t, EXPORT, "overview", "GET", f"/teach/{day.class_id}/overview")
    sheet = await day.load(t, EXPORT, "overview CSV", "GET", f"/teach/{day.class_id}/overview.csv")
    day.csv_rows = sheet.text.lstrip("\ufeff").splitlines()


async def the_day(base_url: str, server_pid: int, children: int) -> tuple[Day, list[str]]:
    day, errors = Day(children), []
    pictures = [photo(n) for n in range(children)]  # made before: encoding takes this process's CPU
    teacher, phones = Browser(base_url), [Browser(base_url) for _ in range(children)]

    async def everyone(day: Day, _: Browser) -> None:
        await asyncio.gather(*(child(day, b, n, pictures[n], errors) for n, b in enumerate(phones)))

    try:
        for step, work in (
            (SIGN_IN, teacher_signs_in),
            (IMPORT, import_class),
            (LESSON, make_lesson),
            (QUIZ, make_quiz),
            (CHILDREN, everyone),
            (GRADING, grade_all),
            (EXPORT, export),
        ):
            start, server_cpu, client_cpu = time.perf_counter(), tree_cpu_s(server_pid), time.process_time()
            await work(day, teacher)
            day.wall_s[step] = time.perf_counter() - start
            day.cpu_s[step] = (tree_cpu_s(server_pid) - server_cpu, time.process_time() - client_cpu)
    except (StepFailed, KeyError, ValueError) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        for browser in (teacher, *phones):
            await browser.close()
    return day, errors


# --- results -----------------------------------------------------------------------------------------------------------


def step_row(day: Day, step: str) -> dict:
    pages = [p for p in day.pages if p.step == step]
    fetches = [f for p in pages for f in p.fetches]
    times = [f.seconds for f in fetches]
    return {
        "step": step,
        "page_loads": len(pages),
        "requests": len(fetches),
        "bytes_in": sum(f.bytes_in for f in fetches),
        "bytes_out": sum(f.bytes_out for f in fetches),
        "picture_bytes_in": sum(f.bytes_in for f in fetches if f.subresource == "image"),
        "not_modified": sum(1 for f in fetches if f.from_cache),
        "server_time_sum_s": round(sum(times), 3),
        "server_time_p95_ms": round(percentile(times, 0.95) * 1000, 1) if times else None,
        "wall_s": round(day.wall_s.get(step, 0.0), 2),
        "server_cpu_s": round(day.cpu_s.get(step, (0.0, 0.0))[0], 2),
        "client_cpu_s": round(day.cpu_s.get(step, (0.0, 0.0))[1], 2),
    }


def teacher_pages(day: Day) -> list[dict]:
    """Every HTML page the teacher loaded: its bytes on the wire before pictures (and its HTML unpacked)."""
    return [
        {
            "step": p.step,
            "kind": p.kind,
            "url": p.url,
            "bytes_before_pictures": p.bytes_before_pictures,
            "html_bytes": p.html_bytes,
            "picture_bytes": p.bytes_in - p.bytes_before_pictures,
        }
        for p in day.pages
        if p.step != CHILDREN and p.html_bytes
    ]


def children_kinds(fetches: list[Fetch]) -> dict:
    kinds: dict[str, list[float]] = {}
    for f in fetches:
        kinds.setdefault(f.kind if not f.subresource else f"({f.subresource})", []).append(f.seconds)
    return {kind: summarise(times) for kind, times in kinds.items()}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(day: Day, rows: dict[str, dict], pages: list[dict], children_p95_s: float | None) -> list[dict]:
    grading = rows[GRADING]["bytes_in"] + rows[GRADING]["bytes_out"]
    heaviest = max(pages, key=lambda p: p["bytes_before_pictures"]) if pages else None
    biggest = max(pages, key=lambda p: p["html_bytes"]) if pages else None
    quiz_loads = rows[QUIZ]["page_loads"]
    how_quiz = day.notes.get("quiz", "")
    return [
        {
            "target": f"grading {day.children} photo hand-ins ≤ 3 MB on the wire in all",
            "measured": f"{grading / 2**20:.2f} MB ({day.notes.get('grading', 'not reached')})",
            "verdict": verdict(day.handins_graded == day.children and grading <= GRADING_MAX_BYTES),
        },
        {
            "target": "a 10-question quiz pasted in ≤ 3 page loads",
            "measured": f"{quiz_loads} page loads ({how_quiz or 'not reached'})",
            "verdict": verdict(how_quiz == "paste" and 0 < quiz_loads <= QUIZ_MAX_PAGE_LOADS),
        },
        {
            "target": "every teacher page ≤ 30 KB before pictures",
            "measured": (
                f"largest {heaviest['bytes_before_pictures'] / 1024:.1f} KB: {heaviest['kind']} ({heaviest['url']}; "
                f"{heaviest['html_bytes'] / 1024:.1f} KB of HTML unpacked); "
                f"{sum(p['bytes_before_pictures'] > TEACHER_PAGE_MAX_BYTES for p in pages)} of {len(pages)} over; "
                f"unpacked, the largest HTML is {biggest['html_bytes'] / 1024:.1f} KB ({biggest['kind']})"
                if heaviest
                else "no pages"
            ),
            "verdict": verdict(
                bool(pages) and all(p["bytes_before_pictures"] <= TEACHER_PAGE_MAX_BYTES for p in pages)
            ),
        },
        {
            "target": f"p95 ≤ 300 ms with the {day.children} children working at once",
            "measured": f"p95 {children_p95_s * 1000:.0f} ms over the children's page requests"
            if children_p95_s is not None
            else "no requests",
            "verdict": verdict(children_p95_s is not None and children_p95_s <= CHILDREN_P95_MAX_S),
        },
    ]


def check_database(data_dir: Path, day: Day) -> list[str]:
    """After the day (server stopped): every child's hand-in graded, every child's quiz handed in."""
    problems = []
    db = sqlite3.connect(f"file:{data_dir / 'tpkit.sqlite3'}?mode=ro", uri=True)
    try:
        states = dict(
            db.execute("SELECT state, count(*) FROM handins WHERE lesson_id = ? GROUP BY state", (day.lesson_id,))
        )
        if states != {"graded": day.children}:
            problems.append(f"hand-ins by state {states}, expected {{'graded': {day.children}}}")
        handed = db.execute(
            "SELECT count(*) FROM quiz_attempts WHERE quiz_id = ? AND handed_in_at IS NOT NULL", (day.quiz_id,)
        ).fetchone()[0]
        if handed != day.children:
            problems.append(f"{handed} quiz attempts handed in, expected {day.children}")
    finally:
        db.close()
    named = sum(1 for row in day.csv_rows if any(child_name(n) in row for n in range(day.children)))
    if named != day.children:
        problems.append(f"the overview CSV names {named} children, expected {day.children}")
    return problems


def run(
    children: int = 40, work_dir: Path | None = None, python: str = sys.executable, workers: int | None = None
) -> dict:
    """Set up, run the day, stop the server, check; the results as a dict."""
    work = Path(work_dir or tempfile.mkdtemp(prefix="tpkit-teachers-day-"))
    data_dir, content_dir = work / "data", work / "content"
    prepare(data_dir, content_dir)
    command = (
        f"{python} -m appliance serve --host 127.0.0.1 --port {{port}} --data-dir {data_dir} "
        f"--content-dir {content_dir}" + (f" --web-workers {workers}" if workers else "")
    )
    server = ManagedServer("tpkit", command, {}, work)
    level = os.environ.get("TPKIT_LOG_LEVEL")
    os.environ["TPKIT_LOG_LEVEL"] = "warning"
    try:
        server.start("/learn")
    finally:
        if level is None:
            os.environ.pop("TPKIT_LOG_LEVEL", None)
        else:
            os.environ["TPKIT_LOG_LEVEL"] = level
    load_before = os.getloadavg()
    try:
        assert server.proc is not None  # started above
        day, errors = asyncio.run(the_day(f"http://127.0.0.1:{server.port}", server.proc.pid, children))
        alive = server.alive()
    finally:
        server.stop()
    load_after = os.getloadavg()
    problems = check_database(data_dir, day) if not errors else []
    rows = {step: step_row(day, step) for step in STEPS}
    pages = teacher_pages(day)
    child_fetches = [f for p in day.pages if p.step == CHILDREN for f in p.fetches]
    page_times = [f.seconds for f in child_fetches if not f.subresource]
    children_p95 = percentile(page_times, 0.95) if page_times else None
    return {
        "children": children,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "web_workers": workers or "default",
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "how": day.notes,
        "steps": list(rows.values()),
        "targets": targets(day, rows, pages, children_p95),
        "children_requests": children_kinds(child_fetches),
        "children_page_requests": summarise(page_times) if page_times else None,
        "teacher_pages": pages,
        "handins_graded": day.handins_graded,
        "errors": errors,
        "problems": problems,
        "server_survived": alive,
        "ok": not errors and not problems and alive,
        "work_dir": str(work),
    }


def markdown(result: dict) -> str:
    lines = [
        f"Teacher's day, {result['children']} children, {result['when']}; {result['cpus']} CPUs, load average "
        f"{result['load_average_before'][0]} before → {result['load_average_after'][0]} after (a busy machine "
        "inflates the times).",
        "",
        "| step | page loads | requests | bytes received | of them pictures | bytes sent | server time sum | p95 "
        "| wall | CPU: server / client |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["steps"]:
        p95 = f"{row['server_time_p95_ms']:g} ms" if row["server_time_p95_ms"] is not None else "–"
        lines.append(
            f"| {row['step']} | {row['page_loads']} | {row['requests']} | {_size(row['bytes_in'])} | "
            f"{_size(row['picture_bytes_in'])} | {_size(row['bytes_out'])} | {row['server_time_sum_s']:.2f} s | {p95} "
            f"| {row['wall_s']:g} s | {row['server_cpu_s']:g} s / {row['client_cpu_s']:g} s |"
        )
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | **{t['verdict']}** |" for t in result["targets"]]
    lines += ["", "Children, per request kind:", "", "| request | n | p50 ms | p95 ms | p99 ms | max ms |"]
    lines.append("|---|---|---|---|---|---|")
    for kind, s in result["children_requests"].items():
        lines.append(f"| {kind} | {s['count']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['max_ms']} |")
    lines += ["", *(f"- {what}: {how}" for what, how in result["how"].items())]
    lines += [f"- error: {e}" for e in result["errors"][:10]] + [f"- problem: {p}" for p in result["problems"]]
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 2**20:.2f} MB" if n >= 2**20 else f"{n / 1024:.1f} KB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=40)
    parser.add_argument("--web-workers", type=int, default=None, help="default: the kit's setting")
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a new temporary folder (kept)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--md", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args()
    result = run(args.children, args.work_dir, workers=args.web_workers)
    text = markdown(result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.md:
        args.md.write_text(text + "\n")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
