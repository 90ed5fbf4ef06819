"""The kit's forms: pages holding forms, and numbers sent by them. CSRF and checked forms are webcore's
(webcore/forms.py, shared with the hub's dashboard) and are importable from here as before.

Must not import cli.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from appliance.errors import BadRequestError
from appliance.web.pages import render
from appliance.web.session import PRIVATE
from appliance.webcore.forms import (CSRF_COOKIE, UPLOAD_FIELDS_BYTES, FormExpiredError,  # noqa: F401
                                     UploadTooLargeError, checked_form, checked_upload, csrf_token, remember_csrf)


def form_page(request: Request, template: str, status_code: int = 200, headers: dict | None = None,
              **context) -> Response:
    """A private page (never cached) holding forms: rendered with this client's CSRF token, which it remembers."""
    response = render(request, template, status_code=status_code, headers={**PRIVATE, **(headers or {})},
                      csrf=csrf_token(request), **context)
    return remember_csrf(request, response)


def form_int(value, fix: str = "Use the buttons on the page.") -> int:
    """A whole number sent by one of the kit's own forms, or BadRequestError (a hand-made request)."""
    try:
        return int(str(value))
    except ValueError:
        raise BadRequestError(f"{value!r} is not a number.", fix=fix) from None
