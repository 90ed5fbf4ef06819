"""The administrator's status page: sign-in with the one-time password, CSRF, password change."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from appliance.services.people import auth


@pytest.fixture
def one_time_password(kit) -> str:
    return auth.ensure_first_admin(kit.accounts)


def _csrf(http: httpx.Client, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', http.get(path).text).group(1)


def _sign_in(http: httpx.Client, password: str) -> httpx.Response:
    token = _csrf(http, "/admin/signin")
    return http.post("/admin/signin", data={"csrf": token, "username": "admin", "password": password})


def test_admin_first_admin_is_created_once(kit):
    first = auth.ensure_first_admin(kit.accounts)
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", first)
    assert auth.ensure_first_admin(kit.accounts) is None
    stored = kit.accounts.by_username("admin")
    assert stored["password_hash"].startswith("$argon2id$")
    assert first not in stored["password_hash"]


def test_admin_page_requires_sign_in(client):
    response = client.get("/admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/signin"


def test_admin_sign_in_shows_books_and_damaged_files(client, content_dir, one_time_password):
    (content_dir / "broken.zim").write_bytes(b"definitely not a zim")
    time.sleep(0.6)  # a few library rescans (library_scan_interval_s = 0.2 in tests)
    response = _sign_in(client, one_time_password)
    assert response.status_code == 303
    assert response.cookies["tpkit_session"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    page = client.get("/admin")
    assert page.status_code == 200
    assert "test_book" in page.text
    assert "broken.zim" in page.text and "cannot be opened as a ZIM book" in page.text
    assert "one-time password" in page.text


def test_admin_marks_a_teachers_imported_book_as_local_and_unsigned(client, kit, tmp_path, one_time_password):
    from appliance.services.library import approval
    from appliance.services.people.access import CONSOLE
    from appliance.services.sync import stick_import
    from tests.conftest import make_book

    make_book(tmp_path / "stick", "our_village", title="Our village")
    report = stick_import.import_folder(kit.settings, kit.db, tmp_path / "stick")
    assert report.ok and report.local[0].book_id == "our_village"
    approval.enable(kit.settings, kit.db, CONSOLE, approval.waiting_books(kit.db, kit.paths)[0].id)
    _sign_in(client, one_time_password)
    deadline = time.monotonic() + 5
    while "Our village" not in (page := client.get("/admin").text) and time.monotonic() < deadline:
        time.sleep(0.1)  # the library picks the new book up on its next rescan
    rows = page.split("</tr>")
    assert "local, unsigned" in next(row for row in rows if "Our village" in row)
    assert "local, unsigned" not in next(row for row in rows if "test_book" in row)


def test_admin_wrong_password_is_401(client, one_time_password):
    response = _sign_in(client, "guess-guess")
    assert response.status_code == 401
    assert "tpkit_session" not in response.cookies


def test_admin_forms_refuse_missing_or_foreign_csrf(client, one_time_password):
    _csrf(client, "/admin/signin")
    response = client.post("/admin/signin", data={"csrf": "forged", "username": "admin", "password": one_time_password})
    assert response.status_code == 403
    fresh = httpx.post(f"{client.base_url}/admin/signin", data={"username": "admin", "password": one_time_password})
    assert fresh.status_code == 403


def test_admin_changes_password_and_old_one_stops_working(client, one_time_password):
    _sign_in(client, one_time_password)
    token = _csrf(client, "/admin")
    short = client.post("/admin/password", data={"csrf": token, "current": one_time_password, "password": "short"})
    assert short.status_code == 400
    changed = client.post(
        "/admin/password", data={"csrf": token, "current": one_time_password, "password": "a long new passphrase"}
    )
    assert changed.status_code == 303
    assert "one-time password" not in client.get("/admin").text
    client.cookies.clear()
    assert _sign_in(client, one_time_password).status_code == 401
    assert _sign_in(client, "a long new passphrase").status_code == 303


def test_admin_sign_in_is_throttled_with_retry_after(client, one_time_password):
    for _ in range(5):
        assert _sign_in(client, "guess-guess").status_code == 401
    throttled = _sign_in(client, one_time_password)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many wrong passwords" in throttled.text
    assert "tpkit_session" not in throttled.cookies


def test_admin_page_lists_the_last_sync_runs(client, kit, one_time_password):
    from appliance.storage.sync_runs import RunResult, SyncRuns

    runs = SyncRuns(kit.db)
    first = runs.start("2026-03-02T16:00:00Z")
    runs.finish(first, "2026-03-02T16:01:00Z", RunResult("ok", "done", bytes_received=5 * 2**20, duration_s=60))
    second = runs.start("2026-03-03T16:00:00Z")
    runs.finish(second, "2026-03-03T16:00:05Z", RunResult("failed", "sync.transfer_failed", duration_s=5.2))
    _sign_in(client, one_time_password)
    page = client.get("/admin").text
    # newest first, in the kit's zone (Asia/Shanghai: 16:00 UTC is midnight of the next day)
    assert page.index("4 Mar") < page.index("3 Mar") and "2026-03-03T16:00:00Z" not in page
    assert "Done" in page and "Stopped" in page and "sync.transfer_failed" in page
    assert "The download stopped; it will continue next time." in page and "60.0 s" in page
    assert "5.0 MB" in page and "0 B" in page
    zh = client.get("/admin?lang=zh").text
    assert "内容更新（同步）" in zh and "下载已中断" in zh


def test_admin_page_without_sync_runs_says_so(client, one_time_password):
    _sign_in(client, one_time_password)
    assert "No sync has run yet." in client.get("/admin").text


def test_admin_content_updates_say_where_each_sync_setting_comes_from(client, kit, one_time_password):
    from appliance.services.reporting import desired_config

    desired_config.apply(
        kit, {"version": 7, "sync_channels": ["primary-zh"], "sync_windows": None}, "2026-03-02T08:00:00Z"
    )
    desired_config.apply(kit, {"version": 8, "sync_windows": "Mon-Fry"}, "2026-03-02T08:15:00Z")  # refused: 7 stays
    _sign_in(client, one_time_password)
    page = client.get("/admin").text
    # each setting by its name for people (the setting's own name in the title), its source in words
    assert re.search(
        r'<td title="sync_channels">Channels</td><td><code>primary-zh</code></td><td>the county hub \(version 7\)', page
    )
    assert re.search(r'<td title="sync_windows">When downloads may run</td><td>—</td><td>Default', page)
    assert "The county&#39;s new settings could not be used" in page and "version 8 was refused" in page
    zh = client.get("/admin?lang=zh").text
    assert "县中心（第 7 版）" in zh and "县中心发来的新设置无法使用" in zh
    assert "订阅的频道" in zh and "默认值" in zh and ">default<" not in zh and "sync_channels</" not in zh


def test_admin_page_in_chinese_words_first_boot_problems_and_the_hubs_refusal(client, kit, one_time_password):
    """First-boot problems (a kit.toml with bad values, checked by first boot's own checks, and a disk it could not
    write) and the hub's refused settings, on the Chinese admin page: each a Chinese sentence with the key or value
    it is about as code, the technician's English folded into details; the English page keeps the English lines."""
    from appliance.services.device import kit_toml
    from appliance.services.device.setup_problems import Problem, stored
    from appliance.services.reporting import desired_config
    from tests.web.chinese_pages import visible_words

    checked = kit_toml.check(
        {"kit_id": "GX 42", "school_name": "双溪教学点", "time_zone": "Mars/Olympus", "wifi": {"country": "china"}},
        "/boot/firmware/kit.toml",
    )
    written = Problem(
        "/etc/hostapd/hostapd.conf could not be written: Read-only file system. Fix: check the disk (df -h; dmesg).",
        "firstboot.not_written",
        about="/etc/hostapd/hostapd.conf",
    )
    problems = [*checked.problems, written]
    assert len(problems) == 5, problems  # kit_id, time_zone, wifi.country, wifi.ssid missing, the file
    kit.provisioning_runs.record("/boot/firmware/kit.toml", ["settings written"], [stored(p) for p in problems])
    refused = {"version": 8, "sync_windows": "Mon-Fry"}
    kit.uplink.store_desired_config(refused, "2026-03-02T08:15:00Z")  # as delivery does: kept, then applied
    assert desired_config.apply(kit, refused, "2026-03-02T08:15:00Z").refused is not None
    _sign_in(client, one_time_password)
    zh = client.get("/admin?lang=zh").text
    section = zh.split('class="problems provisioning"', 1)[1].split("</ul>", 1)[0]
    assert section.count("这一项需要改正：") == 4 and "有文件写不进去（存储卡可能只读或已满）：" in section
    assert "<code>time_zone</code>" in section and "<code>/etc/hostapd/hostapd.conf</code>" in section
    assert "设备看不懂“允许下载的时间”的这个写法： <code>Mon-Fry</code>" in zh
    folded = re.sub(r'(<details class="detail"[^>]*>\s*<summary>.*?</summary>).*?(</details>)', r"\1\2", zh, flags=re.S)
    page = re.sub(r"[\w./-]*kit\.toml\b", " ", folded)  # the file's name, as the page's heading writes it
    assert visible_words(page, ("tpkit", "Test book", "test_book", "admin", "Mon-Fry")) == []  # books, names
    english = client.get("/admin?lang=en").text
    assert "wifi.country in /boot/firmware/kit.toml = &#39;china&#39; must be two capital letters" in english
    assert "was refused: sync_windows = &#39;Mon-Fry&#39;" in english and "这一项" not in english
