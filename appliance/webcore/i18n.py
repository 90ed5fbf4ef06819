"""Page language and message catalogues, shared by the kit's pages and the hub's dashboard: the language a request
asks for (`?lang=`, remembered in a cookie, else Accept-Language, else a default), gettext catalogues keyed by
stable codes (`admin.title`, `error.<code>`, `{name}` placeholders), and Jinja's i18n extension wired to them.

Catalogues are compiled `.mo` files under appliance/locale/<lang>/LC_MESSAGES/, read with the standard library's
gettext (a few ms at start-up; Babel is needed only to extract and compile them: docs/translating.md).
Never imports services, web, hub or cli.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import Response

from appliance.errors import TpkitError
from appliance.webcore import times

LANG_COOKIE = "tpkit_lang"
SUPPORTED = ("en", "zh")
FALLBACK = "en"  # a message missing in a language is shown in English, then as its key

Translator = Callable[..., str]
R = TypeVar("R", bound=Response)


def N_(key: str) -> str:
    """Marks a key that code or a template builds at run time (`'state.' ~ e.state`), so extraction finds it."""
    return key


def locale_dir() -> Path:
    """Where the catalogues are installed (package data of `appliance`)."""
    return Path(str(resources.files("appliance") / "locale"))


def _compiled(domain: str, lang: str) -> gettext.GNUTranslations:
    path = locale_dir() / lang / "LC_MESSAGES" / f"{domain}.mo"
    try:
        with path.open("rb") as file:
            return gettext.GNUTranslations(file)
    except OSError as exc:
        raise TpkitError(
            f"The {lang} messages of {domain} are missing: cannot read {path}.",
            cause="the catalogues were not compiled, or the package was installed without them",
            fix="In a checkout run `./build.sh messages`; otherwise reinstall tpkit.",
        ) from exc


class Messages:
    """The catalogues of one or more domains; the first domain that knows a key wins, in the page's language,
    then in English, then the key itself (so a missing message shows its code, never an error)."""

    def __init__(self, *domains: str) -> None:
        self.domains = domains
        self._read: dict[str, gettext.NullTranslations] = {}  # by language, read on first use (not at import)

    def translations(self, lang: str) -> gettext.NullTranslations:
        """The chained catalogues for `lang` (an unsupported language gets English)."""
        lang = lang if lang in SUPPORTED else FALLBACK
        if lang not in self._read:
            chain = [_compiled(domain, code) for code in dict.fromkeys((lang, FALLBACK)) for domain in self.domains]
            for fallback in chain[1:]:
                chain[0].add_fallback(fallback)
            self._read[lang] = chain[0]
        return self._read[lang]

    def text(self, lang: str, key: str, **values: object) -> str:
        """The message for `key` in `lang`, its `{name}` placeholders filled from `values`; with `count=1`, the
        message `<key>_one` where there is one ("1 article", not "1 articles": docs/translating.md)."""
        found = self.translations(lang).gettext(key)
        if values.get("count") == 1:
            one = self.translations(lang).gettext(f"{key}_one")
            found = found if one == f"{key}_one" else one
        return found.format(**values) if values else found

    def translator(self, lang: str) -> Translator:
        """`t(key, **values)`: `text` in `lang`, for Python that words several messages."""
        return functools.partial(self.text, lang)


def install(env: Environment, messages: Messages) -> None:
    """Jinja's i18n extension on `env`: `{{ _('key', name=value) }}` in the language the page is rendered with (its
    `lang` variable), so one environment serves every request's language, on any thread; and the `when` filter. Reads the catalogues now
    (about 2 ms), so a package installed without them fails at start-up, not on a pupil's first page."""
    for lang in SUPPORTED:
        messages.translations(lang)
    env.add_extension("jinja2.ext.i18n")

    @pass_context
    def gettext_(context: Context, key: str, **values: object) -> str:
        return messages.text(context.get("lang", FALLBACK), key, **values)

    @pass_context
    def ngettext_(context: Context, singular: str, plural: str, n: int, **values: object) -> str:
        text = messages.translations(context.get("lang", FALLBACK)).ngettext(singular, plural, n)
        return text.format(n=n, **values)

    # Old-style callables: a message is `{name}`-formatted by `t`, never `%`-formatted by Jinja's newstyle gettext
    # (messages hold literal `%`, e.g. "Disk %"); autoescape then escapes the result as it does any value.
    env.install_gettext_callables(gettext_, ngettext_, newstyle=False)  # type: ignore[attr-defined]

    @pass_context
    def when(context: Context, value: object) -> str:
        return times.shown(value, context.get("lang", FALLBACK), context.get("time_zone") or "UTC")

    # `{{ value|when }}`: a stored timestamp in the zone the page is rendered with (its `time_zone` variable: the
    # kit's setting; UTC without one) and the page's language, as webcore/times.py words it.
    env.filters["when"] = when


def _from_accept_language(header: str) -> str | None:
    """The supported language with the highest q in an Accept-Language header."""
    best, best_q = None, 0.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in SUPPORTED and q > best_q:
            best, best_q = primary, q
    return best


def speak(request: Request, response: R, lang: str) -> R:
    """`response` marked as being in `lang`; a language asked for with `?lang=` is remembered in a cookie."""
    response.headers["Content-Language"] = lang
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def choose_language(request: Request, default: str) -> str:
    """The page language for this request: `?lang=`, else the cookie, else Accept-Language, else `default`."""
    asked = request.query_params.get("lang")
    if asked in SUPPORTED:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in SUPPORTED:
        return cookie
    return _from_accept_language(request.headers.get("accept-language", "")) or default
