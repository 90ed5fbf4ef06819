"""A teacher imports a WPS class list (.xlsx) in headless Chromium, in Chinese, on a phone (360 px) and at a desk
(1280 px): the PIN sheet lists the columns left out; a refused list shows each problem beside the file field with the
class still typed. TPKIT_SCREENSHOTS=1 saves the PNGs the docs show."""

from __future__ import annotations

import pytest

from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.roster_files import workbook_bytes, wps_class_list
from tests.web.browsers import PHONE, PHONE_WIDTH_PX, browser, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]

DESK = {"viewport": {"width": 1280, "height": 800}}
CLASS = {"phone": "三年级二班", "desk": "三年级三班"}  # one class per run, in one kit


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    kit, _, _ = classroom(tmp_path_factory.mktemp("roster-kit"), "name\nAnna\n", "Grade 1")
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server


@pytest.mark.parametrize("width", ["phone", "desk"])
def test_roster_upload_browser_wps_list_in_chinese(browser, school, tmp_path, width):
    context = browser.new_context(base_url=school.url, locale="zh-CN", **(PHONE if width == "phone" else DESK))
    page = context.new_page()
    try:
        sign_in(page, "li.wei", TEACHER_PASSWORD)
        bad = tmp_path / "三年级二班.xlsx"
        bad.write_bytes(workbook_bytes([["三年级二班名单"], ["学生姓名", "密码", "性别"], ["王芳", "12", "女"]]))
        page.fill("input[name=class_name]", CLASS[width])
        page.set_input_files("input[name=file]", str(bad))
        page.click("form[action='/teach/import'] button[type=submit]")
        assert page.locator("#file-error").is_visible()
        assert page.input_value("input[name=class_name]") == CLASS[width]
        if width == "phone":
            assert scroll_width(page) <= PHONE_WIDTH_PX
            screenshot(page, "roster-refused-zh-phone.png")
        good = tmp_path / "三年级一班.xlsx"
        good.write_bytes(wps_class_list())
        page.set_input_files("input[name=file]", str(good))
        page.click("form[action='/teach/import'] button[type=submit]")
        assert "这些列没有导入" in page.locator(".ignored-columns").inner_text()
        if width == "phone":
            assert scroll_width(page) <= PHONE_WIDTH_PX
        else:
            screenshot(page, "roster-imported-zh-desk.png")
    finally:
        context.close()
