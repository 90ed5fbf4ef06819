"""The sign-in cookie: who is asking, and setting or clearing the cookie on a response.

Must not import cli. The cookie holds a random token; the database holds only its SHA-256 (services/auth).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from appliance.services.people import auth, phone_passes

SESSION_COOKIE = "tpkit_session"
PRIVATE = {"Cache-Control": "no-store"}  # pages about people are never cached, by the browser or in between


def current_account(request: Request):
    """The signed-in account (an accounts row), or None."""
    return auth.session_account(request.app.state.kit.accounts, request.cookies.get(SESSION_COOKIE))


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer` header ('' without one): a phone's pass (issue 18)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def delivering_student(request: Request):
    """The student a delivery is from: a phone's pass when the request carries one (PhonePassError, 401, when that
    pass has ended; never the cookie's child instead), else the signed-in student of the cookie; None otherwise."""
    token = bearer_token(request)
    if token:
        return phone_passes.student_of(request.app.state.kit, token)
    account = current_account(request)
    return account if account is not None and account["role"] == "student" else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def open_session(response: Response, token: str, lifetime_s: float) -> Response:
    """HttpOnly: no script can read it; SameSite=Strict: no other site's page can send it."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", max_age=int(lifetime_s))
    return response


def home_of(account) -> str:
    """Where each role lands after signing in."""
    return {"admin": "/admin", "teacher": "/teach"}.get(account["role"], "/me")
