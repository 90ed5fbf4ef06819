"""Books run in an opaque origin: every answer that carries a book's bytes is sandboxed (issue 14).

A book is written by whoever made the ZIM, and any USB stick can bring one. Served from the kit's own origin, a
book's page could read /teach with the reader's cookies and post the kit's forms. The `sandbox` directive below
gives each such document a unique opaque origin (no `allow-same-origin`): its requests to the kit are
cross-origin, carry no SameSite cookies and cannot read people's pages; it cannot read the kit's cookies or
localStorage. Scripts, forms, pop-ups, dialogs and downloads still work, so real books do (docs/security.md,
"Books run in an opaque origin"; docs/kiwix-compatibility.md for how kiwix-serve differs).

A book's own requests (images, CSS, XHR/fetch of its JSON, video ranges) are cross-origin now too; they work
because the library's answers carry `Access-Control-Allow-Origin: *` (web/app.py `OpenToKiwixClients`).

Must not import cli. Only this module says what the policy is and which paths it covers.
"""

from __future__ import annotations

# The paths whose answers carry book-controlled bytes: entries (/content/, /raw/<book>/content/), metadata
# (/raw/<book>/meta/<name>) and illustrations. Redirects under them point to /content/ again. The kit's own
# pages that show what books hold (/search, /suggest, the catalog's XML) escape it and are not here.
BOOK_PREFIXES = ("/content/", "/raw/", "/catalog/v2/illustration/")

# No allow-same-origin (the opaque origin is the point), no allow-top-navigation (a framed book cannot move the
# page around it). allow-popups-to-escape-sandbox: a window a book opens (a link with target=_blank) does not inherit
# the sandbox, as on kiwix-serve since libkiwix PR #1208; a book page opened that way gets this header again.
SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads"

# The same rights for a book page the kit frames itself (a lesson's article under the kit bar, me_read.html): the
# iframe's `sandbox` attribute, so the frame is opaque even before the framed answer's own header is read.
FRAME_SANDBOX = SANDBOX.removeprefix("sandbox ")

BOOK_HEADERS = [
    (b"content-security-policy", SANDBOX.encode()),
    (b"x-content-type-options", b"nosniff"),
]

# What /raw/<book>/meta/<name> answers is never an active type, whatever MIME type the ZIM gives the item.
META_TEXT_TYPE = "text/plain; charset=utf-8"
ILLUSTRATION_PREFIX = "Illustration_"
ILLUSTRATION_TYPE = "image/png"  # the only format the ZIM specification allows for Illustration_<w>x<h>@<scale>
_PLAIN_TEXT = ("text/plain", "text/plain;charset=utf-8")  # spelled without spaces, in lower case


def meta_type(name: str, given: str) -> str:
    """The Content-Type a metadata item is served with: PNG for illustrations, plain text for the rest.
    The ZIM's own spelling of plain text (`text/plain`, `text/plain;charset=UTF-8`) or PNG is kept, so ordinary
    books answer byte for byte as kiwix-serve does; any other type a ZIM gives (text/html, image/svg+xml) is
    replaced by UTF-8 plain text (PNG for an illustration)."""
    spelling = given.replace(" ", "").lower()
    if name.startswith(ILLUSTRATION_PREFIX):
        return given if spelling == ILLUSTRATION_TYPE else ILLUSTRATION_TYPE
    return given if spelling in _PLAIN_TEXT else META_TEXT_TYPE


def is_book_path(path: str) -> bool:
    return path.startswith(BOOK_PREFIXES)


class SandboxBooks:
    """Adds the sandbox policy and `nosniff` to every answer under BOOK_PREFIXES, whatever its status (entries,
    304s, 206s, redirects, errors), replacing any policy a route might have set."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not is_book_path(scope["path"]):
            return await self.app(scope, receive, send)

        async def send_sandboxed(message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"content-security-policy", b"x-content-type-options")
                ]
                message["headers"] = [*kept, *BOOK_HEADERS]
            await send(message)

        await self.app(scope, receive, send_sandboxed)
