"""Headless Chromium for the page tests (tests/web/*_browser.py, the hub's in tests/hub/): Debian's Chromium through
Playwright with the flags a sandbox-less CI box needs, the `browser` fixture a module imports, the screens pages are
judged on (a child's phone at 360 px, a teacher's laptop at 1280 px), and the steps every module repeats: a context
whose relative addresses go to the server, signed in through the sign-in form or with an HTTP client's cookies.

A module uses the fixture by importing it: `from tests.web.browsers import browser  # noqa: F401` (one Chromium per
module, closed after its last test).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a sandbox-less CI box with no network: no GPU, no QUIC, no phoning home for updates.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A cheap Android phone: 360 CSS px wide, 2x screen.
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PHONE_WIDTH_PX = 360
# The same phone and the teacher's laptop at 1x, for the sweeps that open every page (smaller screenshots).
PHONE_1X = {**PHONE, "device_scale_factor": 1}
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextlib.contextmanager
def chromium(extra_args: tuple[str, ...] = (), env: Mapping[str, str] | None = None) -> Iterator:
    """A launched headless Chromium (with `extra_args`, in `env` when given), closed afterwards; the test is skipped on
    a machine without one."""
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: `apt-get install chromium` to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: `pip install -e '.[test]'` and `apt-get install chromium`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], env=None if env is None else dict(env)
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as launched:
        yield launched


def phone(browser, live, **options):
    """A fresh phone-sized browser context (own cookies) whose relative URLs go to the kit."""
    return browser.new_context(base_url=live.url, **PHONE, **options)


def with_cookies(context, url: str, cookies: Mapping[str, str]):
    """`context` holding `cookies` (an HTTP client's, signed in there) for the server at `url`."""
    context.add_cookies([{"name": name, "value": value, "url": url} for name, value in cookies.items()])
    return context


def sign_in(page, username: str, password: str) -> None:
    """The kit's staff sign-in form filled and sent in `page` (the caller waits for where it leads)."""
    page.goto("/admin/signin")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.box button[type=submit]")


def signed_in_phone(browser, live, username: str, password: str, **options):
    """A phone context (`options` as `phone`) signed in as staff through the form, on /teach: (context, page)."""
    context = phone(browser, live, **options)
    page = context.new_page()
    sign_in(page, username, password)
    page.wait_for_url("**/teach")
    return context, page


def images_loaded(page, selector: str) -> list[int]:
    """naturalWidth of every image matching `selector`, after the page's images have loaded."""
    page.wait_for_load_state("load")
    return page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def scroll_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def screenshot(page, name: str) -> None:
    """Save a docs screenshot, only when asked: normal runs must not dirty the tree."""
    if os.environ.get("TPKIT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
