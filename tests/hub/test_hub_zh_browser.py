"""The county hub in Chinese (issue 16): every page a county officer or technician uses, opened in headless Chromium
on a small county (two kits at Chinese schools, one hot, one whose kit refused the county's settings, an alert a kit
raised, books installed), in Chinese at 360 px and 1280 px: no English word outside the data the test put there and
no ASCII colon after a Chinese character (tests/web/chinese_pages.visible_words, as the kit's zh sweep); then each
page once in English with no Chinese outside the same data.

PAGES is the list, as in tests/web/test_zh_sweep_browser.py: a refused form is a row and a function in SENT that
fills and sends it in the browser; a page answered with another status than 200 names it in STATUS.
"""

from __future__ import annotations

import re

import httpx
import pytest

from appliance.hub import configs, ingest, technicians
from appliance.hub.app import create_app
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage.backend import open_database
from appliance.hub.storage.database import migrate
from appliance.protocol import shared_lesson
from tests.conftest import LiveServer
from tests.hub.conftest import Clock, enrol_kit, health_body, lesson_body, signed
from tests.web.browsers import LAPTOP, PHONE_1X, browser, with_cookies  # noqa: F401
from tests.web.chinese_pages import visible_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a county password"
FIRST = "first county password"  # a second technician's password, not yet changed (only /password opens)
# What the test put there, shown as typed: kit ids, schools, districts, user names, book names and versions, the
# settings' values, the kit's own words in its alert (a kit's message, sent as it wrote it).
DATA = (
    "kit-1",
    "kit-2",
    "第1小学",
    "第2小学",
    "城北",
    "technician",
    "zhou.new",
    "water_zh",
    "2026-11",
    "tpkit",
    "CSV",  # the name of a file type, written so on a Chinese screen
    "li.reviewer",
    "CC BY 4.0",  # a licence's name
    "练习单.pdf",  # a teacher's file name
    # a teacher's shared lesson (tests/hub/conftest.lesson_body), shown as the teacher wrote it
    "两位数加两位数",
    "先读课文，再做练习。",
    "王老师",
    "山村小学",
    "百科",
    "小测验",
    "水",
)
SHARE_ID = "6f1c2a55-7b1e-4c53-9d0a-3f2e8e1b7a10"
_NOT_WORDS = re.compile(r"https?://[^\s<\"]+|\b\d{4}-\d\d-\d\dT[\d:.]+Z?")  # addresses and ISO timestamps

# (name, who, address)
PAGES = [
    ("signin", "anyone", "/signin"),
    ("signin-refused", "anyone", "/signin"),  # SENT: a wrong password, the same form back
    ("fleet", "technician", "/"),
    ("kit", "technician", "/kits/kit-2"),  # hot; its kit refused the county's settings
    ("kit-quiet", "technician", "/kits/kit-1"),
    ("alerts", "technician", "/alerts"),
    ("rollout", "technician", "/rollout"),
    ("password", "technician", "/password"),  # the normal change, from the header's link
    ("password-first", "first", "/password"),  # a technician's first sign-in: only this page opens
    ("password-short", "first", "/password"),  # SENT: too short a new password
    ("password-wrong", "first", "/password"),  # SENT: a wrong current password
    ("kit-missing", "technician", "/kits/kit-9"),  # 404: the error page
    ("config-refused", "technician", "/kits/kit-1"),  # SENT: a rate cap that is not a number: the error page
    ("lessons", "reviewer", "/lessons"),  # the shared lessons by unit
    ("lessons-all", "reviewer", "/lessons?state=all"),
    ("lesson", "reviewer", f"/lessons/{SHARE_ID}"),
    ("lesson-no-comment", "reviewer", f"/lessons/{SHARE_ID}"),  # SENT: returned without a comment: the form again
    ("lessons-technician", "technician", "/lessons"),  # 403: a technician does not review
]
STATUS = {"kit-missing": 404, "lessons-technician": 403}


def _signin_refused(page) -> None:
    page.fill("input[name=username]", "technician")
    page.fill("input[name=password]", "not the password")
    with page.expect_navigation():
        page.click("main form button")
    assert page.locator("p.error").count() == 1


def _password_short(page) -> None:
    """Past the browser's own minlength check, as an old browser sends it: the message beside the new password."""
    page.fill("input[name=current]", FIRST)
    page.eval_on_selector("input[name=password]", "field => field.removeAttribute('minlength')")
    page.fill("input[name=password]", "short")
    with page.expect_navigation():
        page.click("main form button")
    assert page.locator("#password-error").count() == 1


def _password_wrong(page) -> None:
    page.fill("input[name=current]", "not the first password")
    page.fill("input[name=password]", "a long new sentence")
    with page.expect_navigation():
        page.click("main form button")
    assert page.locator("#current-error").count() == 1


def _config_refused(page) -> None:
    page.fill("input[name=sync_rate_cap_kbps]", "12.5")
    with page.expect_navigation():
        page.click("form[action$='/config'] button")
    assert page.locator("h1").count() == 1


def _lesson_no_comment(page) -> None:
    with page.expect_navigation():
        page.click("button[value=return]")
    assert page.locator("#comment-error").count() == 1


SENT = {
    "lesson-no-comment": _lesson_no_comment,
    "signin-refused": _signin_refused,
    "password-short": _password_short,
    "password-wrong": _password_wrong,
    "config-refused": _config_refused,
}


def _county(db, now: float) -> None:
    """Two kits at Chinese schools with a heartbeat each; kit-2 is hot, lists a book and refused the county's
    settings (a window the kit cannot read); kit-2 raised an alert of its own; a desired configuration for kit-1."""
    refused = "The county's configuration version 2 was refused: sync_windows = 'Mon-Fry': unknown day 'Fry'."
    for n, temp in ((1, 50.0), (2, 82.0)):
        kit_id = f"kit-{n}"
        secret = enrol_kit(db, kit_id, now - 86400, school=f"第{n}小学", district="城北")
        body = health_body(kit_id, temp_c=temp, books=[{"name": "water_zh", "version": "2026-11"}] if n == 2 else None)
        if n == 2:
            said = {"key": "config.refused.windows", "name": "sync_windows", "value": "Mon-Fry"}
            body["hub_config"] = {"applied_version": 1, "refused_version": 2, "refused": refused, "refused_said": said}
        report, _, _ = signed(secret, kit_id, 1, body, made_at=now - 60, applied=1 if n == 2 else None)
        ingest.store(db, report, now - 60)
        if n == 2:
            alert = {
                "code": "health.root_read_only",
                "severity": "critical",
                "message": "The system disk is read-only.",
            }
            report, _, _ = signed(secret, kit_id, 2, {**alert, "snapshot": {}}, kind="alert", made_at=now - 30)
            ingest.store(db, report, now - 30)
    configs.set_config(db, "kit-1", {"sync_rate_cap_kbps": 256}, now, "technician")
    pdf = b"%PDF-1.4 a worksheet"
    for kind, body in (
        ("lesson", lesson_body(SHARE_ID, {"练习单.pdf": pdf})),
        ("lesson_file", next(shared_lesson.cut(SHARE_ID, 1, 0, pdf))),
    ):
        report, _, _ = signed(secret, "kit-2", 3 if kind == "lesson" else 4, body, kind=kind, made_at=now - 20)
        ingest.store(db, report, now - 20)


def _signed_in(url: str, username: str, password: str) -> dict:
    with httpx.Client(base_url=url, timeout=20) as http:
        csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/signin").text).group(1)  # type: ignore[union-attr]
        answer = http.post("/signin", data={"csrf": csrf, "username": username, "password": password})
        assert answer.status_code == 303, answer.text
        return dict(http.cookies)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A hub on SQLite (the pages are the same on PostgreSQL) with the county, the first technician (password chosen)
    and a second one still holding their first password; their cookies."""
    settings = load_hub_settings(environ={}, overrides={"hub_data_dir": str(tmp_path_factory.mktemp("hub-zh"))})
    db = open_database(settings)
    migrate(db)
    clock = Clock()
    _county(db, clock.now)
    technicians.ensure_first(db, clock.now)
    technicians.add(db, "technician", PASSWORD, clock.now)
    technicians.add(db, "zhou.new", FIRST, clock.now)
    technicians.add(db, "li.reviewer", PASSWORD, clock.now, "reviewer")
    with db.transaction() as tx:  # as `tpkit hub technician add` leaves a new one: must change it first
        tx.execute("UPDATE technicians SET must_change_password = 1 WHERE username = ?", ("zhou.new",))
    with LiveServer(create_app(settings, db, clock)) as server:
        cookies = {"technician": _signed_in(server.url, "technician", PASSWORD), "first": {}}
        cookies["first"] = _signed_in(server.url, "zhou.new", FIRST)
        cookies["reviewer"] = _signed_in(server.url, "li.reviewer", PASSWORD)
        yield server, cookies, clock
    db.close()


def _open(browser, hub, name: str, who: str, address: str, locale: str, wide: bool):  # noqa: F811
    server, cookies, clock = hub
    context = with_cookies(
        browser.new_context(base_url=server.url, locale=locale, **(LAPTOP if wide else PHONE_1X)),
        server.url,
        cookies.get(who, {}),
    )
    page = context.new_page()
    response = page.goto(address)
    assert response is not None and response.status == STATUS.get(name, 200), (address, response and response.status)
    if name in SENT:
        if name.startswith(("signin", "password")):  # (not every form: the sessions would expire in 12 hours)
            clock.now += 3600  # wrong passwords of earlier runs no longer throttle this one
        SENT[name](page)
    return context, page


def _seen(html: str) -> str:
    """The page as read: addresses and timestamps left out, the tab's title and what a tooltip, a placeholder or a
    screen reader shows read as text."""
    html = _NOT_WORDS.sub(" ", html)
    tab = re.findall(r"<title>(.*?)</title>", html, flags=re.DOTALL)
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    said = tab + re.findall(r'\s(?:title|placeholder|aria-label|alt)="([^"]*)"', main)
    return html.replace("</main>", " ".join(said) + " </main>", 1)


def _unfolded(html: str) -> str:
    """The page without the error page's folded technician's details (English by design, as on the kit)."""
    return re.sub(r'(<details class="detail"[^>]*>\s*<summary>.*?</summary>).*?(</details>)', r"\1\2", html, flags=re.S)


def _colons(html: str) -> list[str]:
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]+>", "", re.sub(r"<(code|svg)\b.*?</\1>", " ", main, flags=re.DOTALL))
    return re.findall(r"\S{0,8}[\u4e00-\u9fff）]:", text)


@pytest.mark.parametrize(("name", "who", "address"), PAGES, ids=[p[0] for p in PAGES])
def test_hub_page_in_chinese_has_no_english(browser, hub, name, who, address):  # noqa: F811
    found = {}
    for wide in (False, True):
        context, page = _open(browser, hub, name, who, address, "zh-CN", wide)
        assert page.evaluate("document.documentElement.lang") == "zh"
        html = _unfolded(page.content())
        if name == "kit":  # why the kit refused the county's settings, in Chinese (the kit's English folded)
            assert "设备看不懂“允许下载的时间”的这个写法： <code>Mon-Fry</code>" in html
            assert "第2小学，城北。" in html  # Chinese punctuation between the school and its district
        found[1280 if wide else 360] = visible_words(_seen(html), DATA) + _colons(html)
        context.close()
    assert found == {360: [], 1280: []}, f"English words on the Chinese hub page {name}: {found}"


@pytest.mark.parametrize(("name", "who", "address"), PAGES, ids=[p[0] for p in PAGES])
def test_hub_page_in_english_has_no_chinese(browser, hub, name, who, address):  # noqa: F811
    context, page = _open(browser, hub, name, who, address, "en-US", True)
    assert page.evaluate("document.documentElement.lang") == "en"
    main = page.content().split("<main", 1)[1].split("</main>", 1)[0]
    for text in sorted(DATA, key=len, reverse=True):
        main = main.replace(text, " ")
    assert re.findall(r"[\u4e00-\u9fff]+", re.sub(r"<[^>]+>", " ", main)) == [], f"Chinese on the English page {name}"
    context.close()
