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
        "admin.health": "Health",
        "admin.status.ok": "OK",
        "admin.status.warning": "Warning",
        "admin.status.critical": "Needs attention now",
        "admin.temperature": "Processor temperature",
        "admin.disk": "Disk used",
        "admin.free": "free",
        "admin.clock": "Clock",
        "admin.clock_synced": "Synchronised",
        "admin.clock_unsynced": "Not synchronised",
        "admin.not_available": "Not available",
        "problem.health.under_voltage": "The power supply is too weak.",
        "problem.health.under_voltage.fix": "Use the official 5.1 V 3 A USB-C supply and a short, thick cable; power USB disks from a powered hub.",
        "problem.health.hot": "The kit is too hot.",
        "problem.health.hot.fix": "Move the kit out of the sun and away from heaters, keep its vents free, or fit a heatsink or fan.",
        "problem.health.disk_nearly_full": "A disk is nearly full.",
        "problem.health.disk_nearly_full.fix": "Remove books no longer needed, or move the books to a larger USB disk. Never delete people's work.",
        "problem.health.books_damaged": "Some book files are damaged and not served.",
        "problem.health.books_damaged.fix": "Copy each damaged file again from its source (names below), or remove it.",
        "problem.health.clock_unsynchronised": "The clock is not synchronised; dates may be wrong.",
        "problem.health.clock_unsynchronised.fix": "Connect the kit to the internet for a minute, or ask the technician to set the time.",
        "problem.health.root_read_only": "The system disk has stopped accepting writes.",
        "problem.health.root_read_only.fix": "Call the technician: back up the data, then replace the SD card.",
        "problem.health.fs_errors": "The system logged disk errors.",
        "problem.health.fs_errors.fix": "Call the technician: back up the data and plan to replace the SD card or USB disk.",
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
        "error.auth.throttled": "Too many wrong passwords. Wait a little, then try again.",
        "error.auth.forbidden": "This form has expired. Go back, reload the page and try again.",
        "error.request.not_found": "There is no page at this address.",
        "error.search.no_query": "Type some words to search for.",
        "error.lan.mdns_unavailable": "The kit cannot be found on the network by name right now; use its address.",
        "error.system.command_failed": "The kit could not carry out a system task.",
        "error.channel.malformed": "A content update could not be read; the library stays as it was.",
        "error.channel.bad_signature": "A content update was not signed correctly; the library stays as it was.",
        "error.channel.unknown_key": "A content update came from a source this kit does not trust.",
        "error.channel.expired": "A content update is out of date; check the kit's clock.",
        "error.channel.replayed": "A content update is older than what the kit already has.",
        "error.report.malformed": "A kit report could not be read.",
        "error.report.too_large": "A kit report is too large.",
        "error.report.bad_signature": "A kit report was not signed by the kit's registered key.",
        "error.hub.invalid": "The county hub could not use this request or command.",
        "error.hub.kit_exists": "This kit is already registered on the county hub.",
        "error.hub.kit_not_found": "No kit with this id is registered on the county hub.",
        "error.hub.bad_token": "The enrolment token is unknown, already used or expired.",
        "error.hub.unknown_kit": "This kit is not enrolled on the county hub.",
        "error.hub.future_report": "A kit report is dated in the future by a clock that says it is right.",
        "error.hub.database_unavailable": "The county hub's database is unavailable; reports will be sent again later.",
        "error.channel.path_escape": "A content update tried to write outside its folder and was refused.",
        "error.channel.package_mismatch": "A downloaded book is incomplete or changed; it will be fetched again.",
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
        "admin.health": "运行状况",
        "admin.status.ok": "正常",
        "admin.status.warning": "警告",
        "admin.status.critical": "需要立即处理",
        "admin.temperature": "处理器温度",
        "admin.disk": "磁盘使用",
        "admin.free": "可用",
        "admin.clock": "时钟",
        "admin.clock_synced": "已同步",
        "admin.clock_unsynced": "未同步",
        "admin.not_available": "无法获取",
        "problem.health.under_voltage": "电源供电不足。",
        "problem.health.under_voltage.fix": "使用官方 5.1 V 3 A USB-C 电源和短而粗的线；USB 硬盘请用带电源的集线器供电。",
        "problem.health.hot": "设备温度过高。",
        "problem.health.hot.fix": "把设备移到阳光照不到、远离暖气的地方，不要堵住通风口，或加装散热片或风扇。",
        "problem.health.disk_nearly_full": "磁盘快满了。",
        "problem.health.disk_nearly_full.fix": "删除不再需要的图书，或把图书移到更大的 USB 硬盘。不要删除师生的作业和数据。",
        "problem.health.books_damaged": "有图书文件已损坏，未提供。",
        "problem.health.books_damaged.fix": "从原来的来源重新复制每个损坏的文件（名称见下方），或将其删除。",
        "problem.health.clock_unsynchronised": "时钟未同步，日期可能不准确。",
        "problem.health.clock_unsynchronised.fix": "让设备连上互联网一分钟，或请技术员设置时间。",
        "problem.health.root_read_only": "系统磁盘已停止写入。",
        "problem.health.root_read_only.fix": "请联系技术员：先备份数据，再更换 SD 卡。",
        "problem.health.fs_errors": "系统记录到磁盘错误。",
        "problem.health.fs_errors.fix": "请联系技术员：备份数据，并准备更换 SD 卡或 USB 硬盘。",
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
        "error.auth.throttled": "密码错误次数太多。请稍等一会儿再试。",
        "error.auth.forbidden": "表单已过期。请返回、刷新页面后再试。",
        "error.request.not_found": "这个网址没有页面。",
        "error.search.no_query": "请输入要搜索的词。",
        "error.lan.mdns_unavailable": "现在无法在网络上按名称找到这台设备，请使用它的地址。",
        "error.system.command_failed": "设备无法完成一项系统任务。",
        "error.channel.malformed": "无法读取一项内容更新；图书馆保持原样。",
        "error.channel.bad_signature": "一项内容更新的签名不正确；图书馆保持原样。",
        "error.channel.unknown_key": "一项内容更新来自本设备不信任的来源。",
        "error.channel.expired": "一项内容更新已过期；请检查设备的时钟。",
        "error.channel.replayed": "一项内容更新比设备现有的内容更旧。",
        "error.report.malformed": "无法读取设备报告。",
        "error.report.too_large": "设备报告太大。",
        "error.report.bad_signature": "设备报告不是由登记的设备密钥签名的。",
        "error.hub.invalid": "县级中心无法处理这个请求或命令。",
        "error.hub.kit_exists": "这台设备已在县级中心登记。",
        "error.hub.kit_not_found": "县级中心没有登记这个编号的设备。",
        "error.hub.bad_token": "登记令牌无效、已被使用或已过期。",
        "error.hub.unknown_kit": "这台设备尚未在县级中心登记。",
        "error.hub.future_report": "设备报告的日期在未来，而设备时钟声称已同步。",
        "error.hub.database_unavailable": "县级中心的数据库暂时不可用；报告稍后会重新发送。",
        "error.channel.path_escape": "一项内容更新试图写入其文件夹之外，已被拒绝。",
        "error.channel.package_mismatch": "一本下载的书不完整或已被更改；将重新获取。",
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
