"""Who: whoever learns the hub's first, one-time password (printed once by `tpkit hub serve` on a shared county
console, read over a shoulder, left in a terminal's scroll-back). From where: the hub's dashboard, from any browser
that reaches it. With what: the one-time password itself; before, it opened every page and saved kits'
configurations for as long as the technician did not think of changing it. What stops them: as on the kit, a
technician still holding the one-time password sees only /password (every dashboard page and the CSV answer 303
there, and a posted configuration is not saved); the change asks for the current password, counted like a sign-in,
and ends the technician's other sessions. docs/hub.md, "Technicians"; docs/security.md, "Sign-in"."""

from __future__ import annotations

import re

import httpx

from appliance.hub import configs, technicians
from tests.hub.conftest import clock, enrol_kit, hub_client, hub_db, hub_live, hub_settings  # noqa: F401 (fixtures)

PAGES = ("/", "/alerts", "/rollout", "/kits/kit-1", "/fleet.csv")


def _token(http: httpx.Client, path: str = "/password") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', http.get(path).text).group(1)  # type: ignore[union-attr]


def test_security_the_hub_one_time_password_opens_only_the_password_page(hub_db, hub_client, clock):  # noqa: F811
    enrol_kit(hub_db, "kit-1", clock.now)
    password = technicians.ensure_first(hub_db, clock.now)
    assert password
    signin = {"csrf": _token(hub_client, "/signin"), "username": "technician", "password": password}
    assert hub_client.post("/signin", data=signin).status_code == 303
    for path in PAGES:
        response = hub_client.get(path)
        assert (response.status_code, response.headers.get("location")) == (303, "/password"), path
    token = _token(hub_client)
    saved = hub_client.post("/kits/kit-1/config", data={"csrf": token, "sync_windows": "Sat-Sun"})
    assert (saved.status_code, saved.headers["location"]) == (303, "/password")
    assert configs.current(hub_db, "kit-1") is None  # nothing saved with the one-time password
    page = hub_client.get("/password")
    assert page.status_code == 200 and 'name="current"' in page.text
    assert 'href="/alerts"' not in page.text  # no way into the dashboard shown either


def test_security_the_hub_password_form_comes_back_with_the_message_beside_the_field(
    hub_db,  # noqa: F811
    hub_client,  # noqa: F811
    clock,  # noqa: F811
):
    enrol_kit(hub_db, "kit-1", clock.now)
    password = technicians.ensure_first(hub_db, clock.now)
    signin = {"csrf": _token(hub_client, "/signin"), "username": "technician", "password": password}
    assert hub_client.post("/signin", data=signin).status_code == 303
    token = _token(hub_client)
    wrong = hub_client.post("/password", data={"csrf": token, "current": "guess", "password": "a county password"})
    assert wrong.status_code == 401 and 'id="current-error"' in wrong.text and 'aria-invalid="true"' in wrong.text
    assert "The current password is wrong" in wrong.text and "a county password" not in wrong.text
    short = hub_client.post("/password", data={"csrf": token, "current": password, "password": "short"})
    assert short.status_code == 400 and 'id="password-error"' in short.text
    zh = hub_client.post("/password?lang=zh", data={"csrf": token, "current": password, "password": "short"})
    assert 'id="password-error"' in zh.text and "10 个字符" in zh.text
    assert hub_client.get("/").headers["location"] == "/password"  # refused changes change nothing
    done = hub_client.post("/password", data={"csrf": token, "current": password, "password": "a county password"})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    for path in PAGES:
        assert hub_client.get(path).status_code == 200, path
    saved = hub_client.post("/kits/kit-1/config", data={"csrf": token, "sync_windows": "Sat-Sun"})
    assert (saved.status_code, saved.headers["location"]) == (303, "/kits/kit-1")
    assert configs.current(hub_db, "kit-1")["sync_windows"] == "Sat-Sun"  # type: ignore[index]


def test_security_a_technician_given_a_password_is_not_sent_to_change_it(hub_db, hub_client, clock):  # noqa: F811
    technicians.add(hub_db, "li.na", "set by the county", clock.now)  # `tpkit hub technician`: chosen, not one-time
    signin = {"csrf": _token(hub_client, "/signin"), "username": "li.na", "password": "set by the county"}
    assert hub_client.post("/signin", data=signin).status_code == 303
    assert hub_client.get("/").status_code == 200
