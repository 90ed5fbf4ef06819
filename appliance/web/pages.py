"""Rendering HTML pages from Jinja templates, in the request's language (`{{ _('key') }}`: web/i18n.py).

Must not import cli.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from appliance import __version__
from appliance.content.languages import language_name, same_as
from appliance.services.learning import publishing, scores
from appliance.web import book_origin, i18n
from appliance.web.session import current_account
from appliance.webcore.forms import csrf_token
from appliance.webcore.i18n import choose_language, install, speak

_templates_dir = str(resources.files("appliance.web") / "templates")
ENV = Environment(
    loader=FileSystemLoader(_templates_dir),
    autoescape=select_autoescape(["html", "xml"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
install(ENV, i18n.MESSAGES)
# Compiling a template costs ~5-20 ms of a worker's CPU, with the GIL held: every page is compiled again in each
# worker after each restart (a power cut a day), and the first ones a class opens together all at once (bench/
# teachers_day.py: 40 children's first pages). Kept compiled in the data folder, a template loads in ~1 ms.

log = logging.getLogger(__name__)


def use_bytecode_cache(folder: Path) -> bool:
    """Keep compiled templates in `folder` (checked against each template's text: an update compiles anew); False
    when the folder cannot be made, and templates are compiled in memory as before."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("Compiled templates are not kept (%s): each worker compiles them again.", exc)
        return False
    ENV.bytecode_cache = FileSystemBytecodeCache(str(folder), "%s.jinja")
    return True


def compile_all(folder: Path) -> int:
    """Compile every template into `folder` that is not there yet or has changed; how many templates there are."""
    if not use_bytecode_cache(folder):
        return 0
    names = ENV.list_templates()
    for name in names:
        ENV.get_template(name)
    return len(names)


def human_size(size_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size_bytes < 1024 or unit == "GB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024
    return str(size_bytes)


ENV.filters["human_size"] = human_size


@pass_context
def _language_name(context: Context, code: str) -> str:
    """A book's language named in the page's language (`language.<code>`: 英语 on a Chinese page, English on an
    English one), else its self-name, else the code as the book says it."""
    key = f"language.{same_as(code)}"
    said = i18n.MESSAGES.text(context.get("lang", "en"), key)
    return said if said != key else language_name(code)


ENV.filters["language_name"] = _language_name
ENV.filters["score"] = scores.shown  # 4.6667 → 4.7 (services/learning/scores.py)
ENV.filters["percent"] = scores.percent  # 0.4667 → 47
ENV.filters["publish_state"] = publishing.state  # a lesson: draft, scheduled or published


def render(
    request: Request, template: str, status_code: int = 200, headers: dict | None = None, **context
) -> HTMLResponse:
    """A page in the request's language, its header naming who is signed in; `?lang=` is remembered in a cookie."""
    settings = request.app.state.kit.settings
    lang = choose_language(request, settings.default_language)
    # The header of every page names who is signed in and offers sign-out (base.html); an error page whose cause
    # may be the database itself passes viewer=None rather than ask it again. A page at a book's address (an error
    # there) runs in the books' opaque origin, where the session's links and forms could not work: no header.
    if "viewer" in context:
        viewer = context.pop("viewer")
    else:
        viewer = None if book_origin.is_book_path(request.url.path) else current_account(request)
    body = ENV.get_template(template).render(
        lang=lang,
        school_name=settings.school_name,
        time_zone=settings.time_zone,  # the `when` filter's zone (webcore/times.py)
        version=__version__,
        request=request,
        viewer=viewer,
        signout_csrf=csrf_token(request) if viewer is not None else "",
        **context,
    )
    return speak(request, HTMLResponse(body, status_code=status_code, headers=headers), lang)
