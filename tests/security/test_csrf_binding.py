"""Who: whoever runs a web page on another port of the kit's or the hub's host (a book's helper, a test server left
running, a program broken into), opened in a teacher's, a pupil's or a technician's browser. From where: that page,
in the same browser as the victim's session. With what: cookies ignore ports, so the page can write a `tpkit_csrf`
cookie of its choosing for the host; with the old double-submit check (cookie equal to the form's field) it then
posted any form with a matching token, as the signed-in victim. What stops them: a form's token is an HMAC, under a
key in a 0600 file of the data folder (webcore/form_key.py), of the sign-in cookie, or before sign-in of the
pre-session nonce (webcore/forms.py); the token is recomputed, never compared with a cookie, so a planted cookie
gives a token no one but the server can make. docs/security.md, "Forms"."""

from __future__ import annotations

import re
import stat

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from appliance.hub.app import create_app as create_hub_app
from appliance.web.app import create_app
from appliance.webcore.forms import CSRF_COOKIE
from tests.conftest import LiveServer
from tests.hub.conftest import clock, hub_db, hub_settings  # noqa: F401 (fixtures)
from tests.web.people_clients import csrf, role_clients


def _other_port(cookies: dict[str, str]) -> Starlette:
    """A page served on another port of the same host, writing cookies for the host (cookies ignore ports)."""

    def page(request):
        response = PlainTextResponse("hello")
        for name, value in cookies.items():
            response.set_cookie(name, value, path="/")
        return response

    return Starlette(routes=[Route("/", page)])


def _form_token(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_security_a_cookie_from_another_port_does_not_pass_a_signed_in_form(kit, live):
    clients, _ = role_clients(kit, live.url)
    teacher = clients["teacher_a"]
    try:
        with LiveServer(_other_port({CSRF_COOKIE: "planted"})) as hostile:
            teacher.get(hostile.url + "/")  # the victim's browser opens the hostile page
        assert teacher.cookies.get(CSRF_COOKIE, domain="127.0.0.1") == "planted"  # stored for the kit's host too
        forged = teacher.post("/teach/classes", data={"csrf": "planted", "name": "Forged class"})
        assert forged.status_code == 403
        other = clients["teacher_b"]  # a real token, but of another session: bound to its own sign-in cookie
        assert teacher.post("/teach/classes", data={"csrf": csrf(other), "name": "Forged class"}).status_code == 403
        made = teacher.post("/teach/classes", data={"csrf": csrf(teacher), "name": "Real class"})
        assert made.status_code == 303  # the page's own form still works
        assert [c["name"] for c in kit.people.all_classes()].count("Forged class") == 0
    finally:
        for http in clients.values():
            http.close()


def test_security_a_cookie_from_another_port_does_not_pass_a_form_before_sign_in(kit, live):
    clients, ids = role_clients(kit, live.url)
    try:
        with httpx.Client(base_url=live.url, follow_redirects=False, timeout=20) as victim:
            victim.cookies.set(CSRF_COOKIE, "planted")  # as a page on another port could
            signin = {"csrf": "planted", "username": "t-a", "password": ids["passwords"]["teacher_a"]}
            assert victim.post("/admin/signin", data=signin).status_code == 403
            student_id = ids["a"]["students"][0]
            pin = {"csrf": "planted", "pin": ids["a"]["pins"][student_id], "key": "go"}
            assert victim.post(f"/learn/{ids['a']['class']}/{student_id}", data=pin).status_code == 403
        with httpx.Client(base_url=live.url, follow_redirects=False, timeout=20) as phone:
            page = phone.get(f"/learn/{ids['a']['class']}/{ids['a']['students'][0]}")
            nonce = phone.cookies[CSRF_COOKIE]
            assert _form_token(page.text) != nonce  # the token is made from the nonce with the kit's key
            student_id = ids["a"]["students"][0]
            pin = {"csrf": _form_token(page.text), "pin": ids["a"]["pins"][student_id], "key": "go"}
            signed = phone.post(f"/learn/{ids['a']['class']}/{student_id}", data=pin)
            assert signed.status_code == 303 and signed.headers["location"] == "/me"
            # signed in, the pre-session token no longer passes: forms are bound to the new session
            assert phone.post("/admin/signout", data={"csrf": _form_token(page.text)}).status_code == 403
            assert phone.post("/admin/signout", data={"csrf": csrf(phone)}).status_code == 303
    finally:
        for http in clients.values():
            http.close()


def test_security_the_form_key_is_private_and_kept_across_restarts(kit):
    first = create_app(kit).state.form_binding.key
    path = kit.paths.form_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app(kit).state.form_binding.key == first  # a restart keeps open forms valid
    assert len(first) == 32


def test_security_the_hub_sign_in_refuses_a_planted_cookie(hub_settings, hub_db, clock):  # noqa: F811
    app = create_hub_app(hub_settings, hub_db, clock)
    assert stat.S_IMODE((hub_settings.hub_data_dir / "form-key").stat().st_mode) == 0o600
    with LiveServer(app) as hub, httpx.Client(base_url=hub.url, follow_redirects=False, timeout=20) as browser:
        browser.cookies.set(CSRF_COOKIE, "planted")
        data = {"csrf": "planted", "username": "technician", "password": "guess"}
        assert browser.post("/signin", data=data).status_code == 403
        browser.cookies.clear()
        token = _form_token(browser.get("/signin").text)
        assert browser.post("/signin", data={**data, "csrf": token}).status_code == 401  # checked, then refused
