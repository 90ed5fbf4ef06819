"""Issue 17, "from folder to phone": a county's folder (a video made by ffmpeg, its captions, a PDF worksheet, a
manifest) → `tpkit pack` → a signed channel (`tpkit channel publish`) → a kit's `tpkit sync` → a child's phone
(Chromium at 360 px, Chinese) finds the lesson under its unit from the home page, the video plays and seeks, the
worksheet's pages show. Every step is the real command or the real server."""

from __future__ import annotations

import pytest

from appliance.cli import main
from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.mirror import Mirror
from tests.services.packing.pack_folders import make_folder
from tests.test_cli_roads import kit_env
from tests.web.browsers import browser, images_loaded, phone, scroll_width  # noqa: F401
from tests.web.test_pack_browser import SEEK_AND_PLAY


@pytest.fixture
def synced_kit(tmp_path, monkeypatch):
    county = Mirror(tmp_path / "mirror", tmp_path / "keys")
    folder = make_folder(tmp_path / "county-folder")
    county.folder().mkdir(parents=True)
    assert main(["pack", str(folder), "--out", str(county.folder() / "maths.zim")]) == 0
    county.publish()
    kit_env(monkeypatch, tmp_path, "kit", county, SYNC_SOURCE=county.root)
    assert main(["sync"]) == 0
    kit = open_kit(load_settings())
    yield kit
    kit.close()


def test_a_packed_lesson_reaches_a_childs_phone_under_its_unit(synced_kit, browser):  # noqa: F811
    assert [b.name for b in synced_kit.load_library().books()] == ["rjb-math-3a-county"]
    with LiveServer(create_app(synced_kit)) as live:
        context = phone(browser, live, locale="zh-CN")
        page = context.new_page()
        page.goto("/")
        page.click("a.button[href='/units']")
        for expected in ("人教版", "三年级上册", "数学", "第2单元"):  # edition, grade and volume, subject, unit
            link = page.locator("ul.picks a").filter(has_text=expected)
            assert link.count() == 1, page.content()
            link.click()
            page.wait_for_load_state("load")
        assert "第二单元练习" in page.content() and scroll_width(page) <= 360
        page.click("text=两位数加两位数（名师课堂）")
        played = page.evaluate(SEEK_AND_PLAY)
        assert played["error"] is None and played["time"] == pytest.approx(2, abs=0.05)
        assert played["playedTo"] > played["time"]
        page.go_back()
        page.click("text=第二单元练习")
        for image in page.locator("img.page").all():
            image.scroll_into_view_if_needed()
        assert images_loaded(page, "img.page") == [848, 848]
        context.close()
