"""The administrator's kit status page (health, books served, damaged files, last syncs), sign-in and password change.

Must not import cli.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import BadRequestError, SignInError, TooManyAttemptsError
from appliance.services.device import health
from appliance.services.people import access as people, auth
from appliance.services.reporting import desired_config
from appliance.services.sync import engine as sync
from appliance.web.forms import checked_form, csrf_token, remember_csrf
from appliance.web.pages import render
from appliance.web.session import PRIVATE, SESSION_COOKIE, client_address, current_account, home_of, open_session

MIN_PASSWORD_CHARS = 10
_account = current_account


def status(request: Request) -> Response:
    account = _account(request)
    if account is None:
        return RedirectResponse("/admin/signin", status_code=303)
    if account["role"] == "teacher":
        return RedirectResponse("/teach", status_code=303)
    people.require(account, "admin")
    kit = request.app.state.kit
    library, snapshot = kit.library, health.snapshot(kit, requests_served=request.app.state.requests.total)
    response = render(request, "admin.html", headers=PRIVATE, account=account, health=snapshot, books=library.books(),
                      damaged=library.damaged(), pending=library.pending(), csrf=csrf_token(request),
                      sync_runs=sync.recent_runs(kit.db), local_books=sync.local_books(kit.db),
                      sync_config=desired_config.status(kit.settings, kit.db),
                      notice=request.query_params.get("notice"), provisioning=kit.provisioning_runs.latest())
    return remember_csrf(request, response)


def signin_page(request: Request) -> Response:
    return remember_csrf(request, render(request, "signin.html", headers=PRIVATE, csrf=csrf_token(request)))


async def signin(request: Request) -> Response:
    form = await checked_form(request)
    kit = request.app.state.kit
    client = client_address(request)
    try:
        token = await run_in_threadpool(auth.sign_in, kit.accounts, str(form.get("username", "")),
                                        str(form.get("password", "")), kit.signin_failures, client)
    except TooManyAttemptsError as exc:
        return render(request, "signin.html", status_code=exc.status, error=exc, csrf=csrf_token(request),
                      headers={**PRIVATE, "Retry-After": str(exc.retry_after_s)})
    except SignInError as exc:
        return render(request, "signin.html", status_code=401, headers=PRIVATE, error=exc, csrf=csrf_token(request))
    account = await run_in_threadpool(auth.session_account, kit.accounts, token)
    return open_session(RedirectResponse(home_of(account), status_code=303), token, auth.SESSION_LIFETIME_S)


async def change_password(request: Request) -> Response:
    form = await checked_form(request)
    account = _account(request)
    people.require(account, *people.STAFF)
    password = str(form.get("password", ""))
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadRequestError(f"The new password has {len(password)} characters; at least {MIN_PASSWORD_CHARS} are needed.",
                              fix="Go back and choose a longer password (a short sentence works well).")
    accounts = request.app.state.kit.accounts
    new_hash = await run_in_threadpool(auth.hash_password, password)
    await run_in_threadpool(accounts.set_password, account["id"], new_hash)
    return RedirectResponse(home_of(account) + "?notice=ok", status_code=303)


async def signout(request: Request) -> Response:
    await checked_form(request)
    await run_in_threadpool(auth.sign_out, request.app.state.kit.accounts, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


routes = [
    Route("/admin", status),
    Route("/admin/signin", signin_page, methods=["GET"]),
    Route("/admin/signin", signin, methods=["POST"]),
    Route("/admin/password", change_password, methods=["POST"]),
    Route("/admin/signout", signout, methods=["POST"]),
]
