"""Language choice and the catalogues through Jinja's i18n extension: `_()` in the page's language with `{name}`
values, escaped like any value, English then the key as fallbacks; `?lang=` over the cookie over Accept-Language."""

from __future__ import annotations

import threading

from jinja2 import DictLoader, Environment, select_autoescape
from starlette.requests import Request

from appliance.webcore.i18n import LANG_COOKIE, Messages, choose_language, install


def _env(source: str) -> Environment:
    env = Environment(loader=DictLoader({"page.html": source}), autoescape=select_autoescape(default=True))
    install(env, Messages("hub", "tpkit"))
    return env


def _request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = [(b"accept-language", accept.encode())] + (
        [(b"cookie", f"{LANG_COOKIE}={cookie}".encode())] if cookie else []
    )
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": headers})


def test_i18n_templates_speak_the_pages_language_with_values_escaped():
    page = _env(
        "{{ _('fleet.heading', count=n) }}|{{ gettext('fleet.disk') }}|{{ _('error.sync.busy') }}|"
        "{{ _('no.such.key') }}|{{ _('chart.empty', title=t) }}"
    )
    assert (
        page.get_template("page.html").render(lang="zh", n=2, t="<b>")
        == "设备总览：2 台|磁盘 %|已有一项内容更新正在进行。|no.such.key|&lt;b&gt;：暂无数据"
    )
    english = page.get_template("page.html").render(lang="en", n=2, t="x")
    assert english.startswith("Fleet: 2 kit(s)|Disk %|A content update is already running.|no.such.key|")
    assert page.get_template("page.html").render(lang="fr", n=1, t="x").startswith("Fleet: 1 kit(s)")


def test_i18n_one_environment_serves_each_thread_its_language():
    env, found = _env("{{ _('signin.title') }}"), {}

    def render(lang: str) -> None:
        found[lang] = {env.get_template("page.html").render(lang=lang) for _ in range(200)}

    threads = [threading.Thread(target=render, args=(lang,)) for lang in ("en", "zh")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == {"en": {"Sign in"}, "zh": {"登录"}}


def test_i18n_language_from_query_then_cookie_then_accept_language_then_default():
    assert choose_language(_request("lang=zh", cookie="en", accept="en"), "en") == "zh"
    assert choose_language(_request("lang=fr", cookie="zh", accept="en"), "en") == "zh"
    assert choose_language(_request(accept="fr;q=1, zh-CN;q=0.8, en;q=0.5"), "en") == "zh"
    assert choose_language(_request(accept="fr, de;q=x"), "zh") == "zh"


def test_i18n_count_of_one_takes_the_one_message_where_there_is_one():
    messages = Messages("tpkit")
    assert messages.text("en", "home.articles", count=1) == "1 article"
    assert messages.text("en", "home.articles", count=2) == "2 articles"
    assert messages.text("en", "home.articles", count=0) == "0 articles"
    assert messages.text("zh", "home.articles", count=1) == "1 篇文章"
    assert messages.text("en", "quiz.attempts_left", count=1) == "attempts left: 1"  # no _one: the one message
