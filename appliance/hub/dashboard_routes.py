"""The technicians' dashboard: fleet table, kit pages with charts, alerts, content roll-out, CSV export.

Every page needs a signed-in technician, and one still holding the one-time password sees only /password until it is
changed (as the kit's /teach); forms carry the CSRF token of webcore.forms, as on the kit. No JavaScript.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from appliance.errors import BadRequestError, HubError, SignInError, TooManyAttemptsError
from appliance.hub import charts, configs, fleet, i18n, notify, retention, technicians
from appliance.hub.ingest import iso
from appliance.hub.pages import language, render, time_zone
from appliance.protocol.report_file import KIT_ID
from appliance.typed_numbers import whole_number
from appliance.webcore import times
from appliance.webcore.forms import checked_form, csrf_token, remember_csrf

SESSION_COOKIE = "tpkit_hub_session"
PRIVATE = {"Cache-Control": "no-store"}
MIN_PASSWORD_CHARS = 10
CHART_DAYS = 14
DAILY_CHART_DAYS = 730  # at most two years of days on a kit's page (hub_keep_daily_days may keep more)
REPORTED_ALERT_DAYS = 7
REVIEWERS_HOME = "/lessons"
FLEET_PAGE_SIZE = 100  # kits a fleet page shows; the counts at its top are of every kit the search matches


def signed_in(request: Request):
    state = request.app.state
    return technicians.session(state.db, request.cookies.get(SESSION_COOKIE), state.clock())


def turned_away(account, role: str = "technician") -> Response | None:
    """Where a request goes instead of its page: /signin without an account, /password while the one-time password
    is still in use (the only page and form it opens, with signing out), a reviewer's own pages for a reviewer on a
    technician's page; a technician on a reviewer's page is refused (403). None: the page may be shown."""
    if account is None:
        return RedirectResponse("/signin", status_code=303)
    if account["must_change_password"]:
        return RedirectResponse("/password", status_code=303)
    if account["role"] != role:
        if account["role"] == "reviewer":
            return RedirectResponse(REVIEWERS_HOME, status_code=303)
        raise HubError(
            "This page is for the county's reviewers of shared lessons.",
            code="hub.reviewers_only",
            status=403,
            cause="Technicians look after the fleet; teaching-research staff review the lessons teachers share.",
            fix="Sign in with a reviewer's account (tpkit hub technician add NAME --role reviewer).",
        )
    return None


def posted_by(account, role: str = "technician") -> Response | None:
    """`turned_away` for a form sent (no account: SignInError)."""
    if account is None:
        raise SignInError("Sign in first.", fix="Open /signin.")
    return turned_away(account, role)


def page_for(request: Request, template: str, role: str = "technician", **context) -> Response:
    account = signed_in(request)
    away = turned_away(account, role)
    if away is not None:
        return away
    return render_private(request, template, account, **context)


def render_private(request: Request, template: str, account, status_code: int = 200, **context) -> Response:
    response = render(
        request,
        template,
        status_code=status_code,
        headers=PRIVATE,
        account=account,
        csrf=csrf_token(request),
        **context,
    )
    return remember_csrf(request, response)


def _filters(request: Request) -> tuple[fleet.Match, str]:
    """The fleet table's search and filters, and its sort, from the address."""
    q = request.query_params
    match = fleet.Match(
        search=q.get("q", "").strip()[:100],
        school=q.get("school", ""),
        district=q.get("district", ""),
        status=q.get("status", "") if q.get("status") in fleet.STATUS_ORDER else "",
    )
    return match, q.get("sort", "status") if q.get("sort") in fleet.SORTS else "status"


def _link(request: Request):
    """`link(**changes)`: this page's address with some query parameters changed ("" removes one)."""
    base, path = dict(request.query_params), request.url.path

    def link(**changes: Any) -> str:
        query = {key: str(value) for key, value in {**base, **changes}.items() if value not in ("", None)}
        return f"{path}?{urllib.parse.urlencode(query)}" if query else path

    return link


def _page_number(request: Request) -> int:
    found = request.query_params.get("page", "1")
    return int(found) if found.isdigit() and 0 < int(found) <= 1_000_000 else 1


def fleet_page(request: Request) -> Response:
    away = turned_away(signed_in(request))
    if away is not None:
        return away
    state, number = request.app.state, _page_number(request)
    match, sort = _filters(request)
    found = fleet.page(
        state.db,
        state.clock(),
        state.settings.hub_silent_after_h,
        state.settings.hub_old_content_days,
        **match,
        sort=sort,
        offset=(number - 1) * FLEET_PAGE_SIZE,
        limit=FLEET_PAGE_SIZE,
    )
    return page_for(
        request,
        "fleet.html",
        page=found,
        kits=found.kits,
        number=number,
        pages=found.pages,
        filters={**match, "sort": sort},
        link=_link(request),
        districts=fleet.districts(state.db),
        statuses=("silent", "critical", "warning", "ok"),
    )


def fleet_csv(request: Request) -> Response:
    """Every kit the fleet page's search and filters match, by kit id, as CSV; written as it is read, 2,000 kits at a
    time (fleet.csv_chunks), so a province's export does not hold 100,000 kits in memory."""
    away = turned_away(signed_in(request))
    if away is not None:
        return away
    state, (match, _) = request.app.state, _filters(request)
    chunks = fleet.csv_chunks(
        state.db,
        state.clock(),
        state.settings.hub_silent_after_h,
        state.settings.hub_old_content_days,
        **match,
    )
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in chunks),
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="tpkit-fleet.csv"'},
    )


def _kit_id(request: Request) -> str:
    """The kit id in the address; 404 for one no kit can have (PostgreSQL cannot even look up one holding NUL)."""
    kit_id = request.path_params["kit_id"]
    if not KIT_ID.match(kit_id):
        raise HubError(
            f"No kit {kit_id!r} is registered on this hub.",
            code="hub.kit_not_found",
            status=404,
            fix="Go back to the fleet table.",
        )
    return kit_id


def kit_page(request: Request) -> Response:
    away = turned_away(signed_in(request))  # before looking the kit up: strangers learn nothing about the fleet
    if away is not None:
        return away
    state, kit_id = request.app.state, _kit_id(request)
    now = state.clock()
    kit = fleet.kit(state.db, kit_id, now, state.settings.hub_silent_after_h, state.settings.hub_old_content_days)
    if kit is None:
        raise HubError(
            f"No kit {kit_id} is registered on this hub.",
            code="hub.kit_not_found",
            status=404,
            fix="Go back to the fleet table.",
        )
    history = fleet.history(state.db, kit_id, now - CHART_DAYS * 86400)
    keep_days = state.settings.hub_keep_daily_days or DAILY_CHART_DAYS
    days = retention.daily(state.db, kit_id, now - min(keep_days, DAILY_CHART_DAYS) * 86400)
    lang, zone = language(request), time_zone(request)
    t = i18n.translator(lang)
    return page_for(
        request,
        "kit.html",
        kit=kit,
        charts=charts.kit_charts(history, t, lambda seconds: times.shown(iso(seconds), lang, zone)),
        daily_charts=charts.daily_charts(days, t),
        daily_days=min(keep_days, DAILY_CHART_DAYS),
        reports=fleet.recent_reports(state.db, kit_id),
        fields=configs.FIELDS,
        desired=configs.current(state.db, kit_id),
    )


def alerts_page(request: Request) -> Response:
    """Every kit that is not ok, the most urgent first, 100 kits a page, each with its alerts; below, the alert
    reports the kits sent this week."""
    away = turned_away(signed_in(request))
    if away is not None:
        return away
    state, number = request.app.state, _page_number(request)
    found = fleet.page(
        state.db,
        state.clock(),
        state.settings.hub_silent_after_h,
        state.settings.hub_old_content_days,
        alerting=True,
        offset=(number - 1) * FLEET_PAGE_SIZE,
        limit=FLEET_PAGE_SIZE,
    )
    pairs = [(kit, alert) for kit in found.kits for alert in kit.alerts]
    pairs.sort(key=lambda pair: (pair[1].severity != "critical", pair[0].district, pair[0].school, pair[0].kit_id))
    reported = fleet.reported_alerts(state.db, state.clock() - REPORTED_ALERT_DAYS * 86400)
    return page_for(
        request,
        "alerts.html",
        found=pairs,
        episodes=notify.open_for(state.db, [kit.kit_id for kit in found.kits]),
        page=found,
        number=number,
        pages=found.pages,
        link=_link(request),
        reported=reported,
        days=REPORTED_ALERT_DAYS,
    )


async def acknowledge_alert(request: Request) -> Response:
    """A technician has seen an open alert: it stays listed, with who acknowledged it, and is not sent by
    `tpkit hub notify` (an alert closed meanwhile, or acknowledged already, is left as it is)."""
    form = await checked_form(request)
    account = await run_in_threadpool(signed_in, request)
    away = posted_by(account)  # nothing is saved with the one-time password, nor by a reviewer
    if away is not None:
        return away
    state = request.app.state
    kit_id, code = str(form.get("kit_id", "")), str(form.get("code", ""))
    await run_in_threadpool(notify.acknowledge, state.db, kit_id, code, account["username"], state.clock())
    number = whole_number(str(form.get("page", "1"))) or 1
    return RedirectResponse(f"/alerts?page={number}" if number > 1 else "/alerts", status_code=303)


def rollout_page(request: Request) -> Response:
    return page_for(request, "rollout.html", books=fleet.rollout(request.app.state.db))


async def set_config(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(signed_in, request)
    away = posted_by(account)  # nothing is saved with the one-time password, nor by a reviewer
    if away is not None:
        return away
    kit_id = _kit_id(request)
    changes: dict[str, Any] = {}
    for field in configs.FIELDS:
        raw = str(form.get(field, "")).strip()
        if field == "sync_channels":
            changes[field] = [c.strip() for c in raw.split(",") if c.strip()] or None
        elif field == "sync_windows":
            changes[field] = raw or None
        elif raw:
            if (number := whole_number(raw)) is None:
                raise BadRequestError(
                    f"{field} = {raw!r} is not a whole number.",
                    fix="Go back and type digits only.",
                    code="hub.config_not_whole",
                )
            changes[field] = number
        else:
            changes[field] = None
    state = request.app.state
    await run_in_threadpool(configs.set_config, state.db, kit_id, changes, state.clock(), account["username"])
    return RedirectResponse(f"/kits/{kit_id}", status_code=303)


def signin_page(request: Request) -> Response:
    return remember_csrf(request, render(request, "signin.html", headers=PRIVATE, csrf=csrf_token(request)))


async def signin(request: Request) -> Response:
    form = await checked_form(request)
    state = request.app.state
    client = request.client.host if request.client else ""
    try:
        token = await run_in_threadpool(
            technicians.sign_in,
            state.db,
            str(form.get("username", "")),
            str(form.get("password", "")),
            state.clock(),
            client,
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
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", max_age=technicians.SESSION_LIFETIME_S)
    return response


def password_page(request: Request) -> Response:
    account = signed_in(request)
    if account is None:
        return RedirectResponse("/signin", status_code=303)
    return render_private(request, "password.html", account)


async def change_password(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(signed_in, request)
    if account is None:
        raise SignInError("Sign in first.", fix="Open /signin.")
    try:
        await run_in_threadpool(_change_password, request, account, form)
    except (SignInError, TooManyAttemptsError, BadRequestError) as exc:
        # the same form again, the message beside the field it is about (passwords are never sent back)
        retry = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyAttemptsError) else {}
        field = "password" if exc.code == "auth.short_password" else "current"
        response = render_private(request, "password.html", account, status_code=exc.status, error=exc, field=field)
        response.headers.update(retry)
        return response
    return RedirectResponse("/", status_code=303)


def _change_password(request: Request, account, form) -> None:
    password = str(form.get("password", ""))
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadRequestError(
            f"The new password has {len(password)} characters; at least {MIN_PASSWORD_CHARS} are needed.",
            fix="Choose a longer password (a short sentence works well).",
            code="auth.short_password",
        )
    state = request.app.state
    technicians.change_own_password(
        state.db,
        account["username"],
        str(form.get("current", "")),
        password,
        request.cookies.get(SESSION_COOKIE),
        state.clock(),
        request.client.host if request.client else "",
    )


async def signout(request: Request) -> Response:
    await checked_form(request)
    await run_in_threadpool(technicians.sign_out, request.app.state.db, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


routes = [
    Route("/", fleet_page),
    Route("/fleet.csv", fleet_csv),
    Route("/alerts", alerts_page),
    Route("/alerts/acknowledge", acknowledge_alert, methods=["POST"]),
    Route("/rollout", rollout_page),
    Route("/kits/{kit_id}", kit_page),
    Route("/kits/{kit_id}/config", set_config, methods=["POST"]),
    Route("/signin", signin_page, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/password", password_page, methods=["GET"]),
    Route("/password", change_password, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
]
