"""Rendering the dashboard's pages from the hub's Jinja templates (English; see docs/hub.md).

Must not import cli.
"""

from __future__ import annotations

from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from appliance import __version__
from appliance.hub.ingest import iso

ENV = Environment(loader=FileSystemLoader(str(resources.files("appliance.hub") / "templates")),
                  autoescape=select_autoescape(["html"], default=True), trim_blocks=True, lstrip_blocks=True)
ENV.filters["iso"] = iso


def _number(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


ENV.filters["number"] = _number


def render(request: Request, template: str, status_code: int = 200, headers: dict | None = None,
           **context) -> HTMLResponse:
    """A dashboard page."""
    body = ENV.get_template(template).render(version=__version__, request=request, **context)
    return HTMLResponse(body, status_code=status_code, headers=headers)
