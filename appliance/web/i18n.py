"""Page language: `?lang=` (remembered in a cookie), else Accept-Language, else the kit's default.

Messages are keyed by stable codes; error codes from `errors` have entries here so a student
reads a sentence in their language, not a traceback.
"""

from __future__ import annotations

from starlette.requests import Request

LANG_COOKIE = "tpkit_lang"
SUPPORTED = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "home.title": "Library",
        "home.search_placeholder": "Search all books",
        "home.search_button": "Search",
        "home.all_languages": "All languages",
        "home.all_categories": "All categories",
        "home.filter": "Show",
        "home.no_books": "No books yet. A teacher can add ZIM files to the content folder.",
        "home.articles": "articles",
        "home.open": "Open",
        "home.admin": "Kit status",
        "home.switch_language": "中文",
        "search.title": "Search",
        "search.results_for": "Results for",
        "search.no_results": "No results. Try fewer or other words.",
        "search.showing": "Showing {first}–{last} of about {total}",
        "search.previous": "Previous",
        "search.next": "Next",
        "search.title_matches": "Title matches (books without a full-text index)",
        "search.in_book": "in",
        "admin.title": "Kit status",
        "admin.books": "Books served",
        "admin.damaged": "Damaged files (not served)",
        "admin.pending": "Being checked",
        "admin.none": "None",
        "admin.sign_in": "Sign in",
        "admin.sign_out": "Sign out",
        "admin.username": "User name",
        "admin.password": "Password",
        "admin.must_change": "You are using the one-time password. Choose a new one now.",
        "admin.new_password": "New password (at least 10 characters)",
        "admin.change_password": "Change password",
        "admin.password_changed": "Password changed.",
        "error.title": "Something went wrong",
        "error.fix": "What to do",
        "error.home": "Back to the library",
        "error.details": "Details for the technician",
        "error.library.book_not_found": "This book is not on the kit.",
        "error.library.entry_not_found": "This page is not in the book.",
        "error.library.book_damaged": "This book is damaged and cannot be read.",
        "error.library.no_fulltext_index": "This book cannot be searched by its text.",
        "error.request.bad": "The address is incomplete.",
        "error.request.range_not_satisfiable": "The requested part of the file does not exist.",
        "error.auth.required": "Please sign in.",
        "error.auth.wrong_password": "The user name or password is wrong.",
        "error.auth.forbidden": "This form has expired. Go back, reload the page and try again.",
        "error.request.not_found": "There is no page at this address.",
        "error.search.no_query": "Type some words to search for.",
        "error.system.command_failed": "The kit could not carry out a system task.",
        "error.error": "The kit had a problem. Try again in a minute.",
    },
    "zh": {
        "home.title": "图书馆",
        "home.search_placeholder": "搜索所有图书",
        "home.search_button": "搜索",
        "home.all_languages": "所有语言",
        "home.all_categories": "所有类别",
        "home.filter": "显示",
        "home.no_books": "还没有图书。老师可以把 ZIM 文件放进内容文件夹。",
        "home.articles": "篇文章",
        "home.open": "打开",
        "home.admin": "设备状态",
        "home.switch_language": "English",
        "search.title": "搜索",
        "search.results_for": "搜索结果：",
        "search.no_results": "没有结果。请换一个词或少写几个词。",
        "search.showing": "第 {first}–{last} 条，共约 {total} 条",
        "search.previous": "上一页",
        "search.next": "下一页",
        "search.title_matches": "标题匹配（这些图书没有全文索引）",
        "search.in_book": "出自",
        "admin.title": "设备状态",
        "admin.books": "正在提供的图书",
        "admin.damaged": "损坏的文件（不提供）",
        "admin.pending": "正在检查",
        "admin.none": "无",
        "admin.sign_in": "登录",
        "admin.sign_out": "退出",
        "admin.username": "用户名",
        "admin.password": "密码",
        "admin.must_change": "您正在使用一次性密码，请立即设置新密码。",
        "admin.new_password": "新密码（至少 10 个字符）",
        "admin.change_password": "修改密码",
        "admin.password_changed": "密码已修改。",
        "error.title": "出了点问题",
        "error.fix": "怎么办",
        "error.home": "返回图书馆",
        "error.details": "给技术员的详细信息",
        "error.library.book_not_found": "这台设备上没有这本书。",
        "error.library.entry_not_found": "这本书里没有这一页。",
        "error.library.book_damaged": "这本书已损坏，无法阅读。",
        "error.library.no_fulltext_index": "这本书不能按正文搜索。",
        "error.request.bad": "网址不完整。",
        "error.request.range_not_satisfiable": "请求的文件部分不存在。",
        "error.auth.required": "请先登录。",
        "error.auth.wrong_password": "用户名或密码错误。",
        "error.auth.forbidden": "表单已过期。请返回、刷新页面后再试。",
        "error.request.not_found": "这个网址没有页面。",
        "error.search.no_query": "请输入要搜索的词。",
        "error.system.command_failed": "设备无法完成一项系统任务。",
        "error.error": "设备出了问题，请一分钟后再试。",
    },
}


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


def choose_language(request: Request, default: str) -> str:
    """The page language for this request."""
    asked = request.query_params.get("lang")
    if asked in SUPPORTED:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in SUPPORTED:
        return cookie
    return _from_accept_language(request.headers.get("accept-language", "")) or default


def translator(lang: str):
    """`t(key, **values)` for templates; falls back to English, then to the key itself."""
    table = MESSAGES.get(lang, MESSAGES["en"])

    def t(key: str, **values: object) -> str:
        text = table.get(key) or MESSAGES["en"].get(key) or key
        return text.format(**values) if values else text

    return t
