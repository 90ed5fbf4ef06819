"""Rendering the dashboard's pages from the hub's Jinja templates, in English or Chinese (hub/i18n.py), with times
in the hub's `hub_time_zone` (`{{ value|when }}`, webcore/times.py; CSV and JSON keep UTC).

Must not import cli.
"""

from __future__ import annotations

from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from appliance import __version__
from appliance.hub import i18n
from appliance.hub.ingest import iso
from appliance.hub.settings import DEFAULT_TIME_ZONE
from appliance.webcore.i18n import SUPPORTED, choose_language, install, speak

ENV = Environment(
    loader=FileSystemLoader(str(resources.files("appliance.hub") / "templates")),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["iso"] = iso  # Unix seconds as UTC ISO 8601; `|iso|when` shows them in the hub's zone
install(ENV, i18n.MESSAGES)


def _number(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


ENV.filters["number"] = _number


def time_zone(request: Request) -> str:
    """The zone pages show times in (the `when` filter, webcore/times.py): the hub's `hub_time_zone` setting."""
    settings = getattr(getattr(request.scope.get("app"), "state", None), "settings", None)
    return getattr(settings, "hub_time_zone", None) or DEFAULT_TIME_ZONE


def language(request: Request) -> str:
    """The page language: `?lang=`, the cookie, Accept-Language, else English (as on the kit)."""
    return choose_language(request, i18n.DEFAULT_LANGUAGE)


def render(
    request: Request, template: str, status_code: int = 200, headers: dict | None = None, **context
) -> HTMLResponse:
    """A dashboard page in the request's language; `?lang=` is remembered in a cookie."""
    lang = language(request)
    t = i18n.translator(lang)
    other = next(code for code in SUPPORTED if code != lang)
    body = ENV.get_template(template).render(
        version=__version__,
        request=request,
        lang=lang,
        other_lang=other,
        time_zone=time_zone(request),
        alert_text=lambda alert: i18n.alert_text(t, alert),
        **context,
    )
    return speak(request, HTMLResponse(body, status_code=status_code, headers=headers), lang)
