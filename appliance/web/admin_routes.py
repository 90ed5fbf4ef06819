"""The administrator's kit status page (health, books served, damaged files, last syncs), sign-in and password change.

Must not import cli.
"""

from __future__ import annotations

import datetime as dt

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import BadRequestError, SignInError, TooManyAttemptsError
from appliance.services.device import health
from appliance.services.people import access as people, auth
from appliance.services.reporting import desired_config
from appliance.services.security import kit_certificate
from appliance.web.forms import csrf_token, form_page, posted_form, posted_upload, remember_csrf
from appliance.web.pages import render
from appliance.web.session import PRIVATE, SESSION_COOKIE, client_address, current_account, home_of, open_session

_account = current_account
# A certificate chain (leaf and intermediates) is 2–6 KB; anything far larger is not one.
CERTIFICATE_MAX_BYTES = 64 * 1024


def status(request: Request) -> Response:
    # Here, not at the top: a web worker starts without the sync, the approval of waiting books and provisioning
    # (issue 15: cold start).
    from appliance.services.device import firstboot
    from appliance.services.library import approval
    from appliance.services.sync import engine as sync

    account = _account(request)
    if account is None:
        return RedirectResponse("/admin/signin", status_code=303)
    if account["role"] == "teacher":
        return RedirectResponse("/teach", status_code=303)
    people.require(account, "admin")
    kit = request.app.state.kit
    library, snapshot = kit.library, health.snapshot(kit, requests_served=request.app.state.requests.total)
    response = render(
        request,
        "admin.html",
        headers=PRIVATE,
        account=account,
        health=snapshot,
        books=library.books(),
        damaged=library.damaged(),
        pending=library.pending(),
        csrf=csrf_token(request),
        sync_runs=sync.recent_runs(kit.db),
        local_books=sync.local_books(kit.db),
        waiting=approval.waiting_books(kit.db, kit.paths),
        sync_config=desired_config.status(kit.settings, kit.db),
        notice=request.query_params.get("notice"),
        provisioning=firstboot.last_run(kit, account),
        **_https(kit),
    )
    return remember_csrf(request, response)


def _https(kit) -> dict:
    """The certificate section's context (admin_https.html): nothing without tls_domain."""
    if not kit.settings.tls_domain:
        return {"https": None}
    state = kit_certificate.state(kit.paths, kit.settings)
    now = dt.datetime.now(dt.timezone.utc)
    return {"https": state, "https_secure": state.sends_to_https(now), "https_expired": state.expired(now)}


@posted_upload(lambda request: CERTIFICATE_MAX_BYTES, "admin")
def take_certificate(request: Request, form: FormData) -> Response:
    """A certificate chain file installed after the kit's checks (a CertificateError page says what is wrong)."""
    upload = form.get("certificate")
    if not isinstance(upload, UploadFile):
        raise BadRequestError(
            "No certificate file was sent.", code="request.bad", fix="Choose the .pem file, then press the button."
        )
    kit = request.app.state.kit
    kit_certificate.install(kit.paths, kit.settings, upload.file.read(CERTIFICATE_MAX_BYTES))
    return RedirectResponse("/admin?notice=certificate#https", status_code=303)


def signin_page(request: Request) -> Response:
    return remember_csrf(request, render(request, "signin.html", headers=PRIVATE, csrf=csrf_token(request)))


@posted_form
def signin(request: Request, form: FormData) -> Response:
    kit = request.app.state.kit
    try:
        token = auth.sign_in(
            kit.accounts,
            str(form.get("username", "")),
            str(form.get("password", "")),
            kit.signin_failures,
            client_address(request),
        )
    except TooManyAttemptsError as exc:
        return render(
            request,
            "signin.html",
            status_code=exc.status,
            error=exc,
            csrf=csrf_token(request),
            headers={**PRIVATE, "Retry-After": str(exc.retry_after_s)},
        )
    except SignInError as exc:
        return render(request, "signin.html", status_code=401, headers=PRIVATE, error=exc, csrf=csrf_token(request))
    account = auth.session_account(kit.accounts, token)
    return open_session(RedirectResponse(home_of(account), status_code=303), token, auth.SESSION_LIFETIME_S)


@posted_form
def change_password(request: Request, form: FormData) -> Response:
    account = people.require(_account(request), *people.STAFF)
    try:
        people.change_own_password(
            request.app.state.kit,
            account,
            str(form.get("current", "")),
            str(form.get("password", "")),
            request.cookies.get(SESSION_COOKIE),
            client_address(request),
        )
    except (SignInError, TooManyAttemptsError, BadRequestError) as exc:
        # the same form again, the message beside the field it is about (passwords are never sent back)
        retry = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyAttemptsError) else {}
        field = "password" if exc.code == "auth.short_password" else "current"
        return form_page(
            request, "password.html", status_code=exc.status, headers=retry, account=account, error=exc, field=field
        )
    return RedirectResponse(home_of(account) + "?notice=ok", status_code=303)


@posted_form
def signout(request: Request, form: FormData) -> Response:
    auth.sign_out(request.app.state.kit.accounts, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


routes = [
    Route("/admin", status),
    Route("/admin/signin", signin_page, methods=["GET"]),
    Route("/admin/signin", signin, methods=["POST"]),
    Route("/admin/password", change_password, methods=["POST"]),
    Route("/admin/signout", signout, methods=["POST"]),
    Route("/admin/certificate", take_certificate, methods=["POST"]),
]
