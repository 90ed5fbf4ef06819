"""What the endpoint fuzzer sends: the routes read from an app's own route table, the field names each handler reads,
and hypothesis strategies for hostile values, forms (urlencoded and multipart), query strings and JSON.

Used by tests/security/test_fuzz_endpoints.py only. A request is drawn as a `Sent` (what to send, minus what only
the live server knows: the session cookie and the CSRF token, added when it is sent), so regression examples are
plain `Sent(...)` values.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import uuid
from urllib.parse import quote, quote_from_bytes

from hypothesis import strategies as st
from starlette.convertors import IntegerConvertor, PathConvertor
from starlette.routing import Mount, Route

from appliance.protocol import report_file
from tests.hub.conftest import health_body

# Numbers and texts that broke parsers somewhere: non-finite, beyond int64, other scripts' digits, NUL, markup.
SPECIAL_TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "1e999",
    "-1e999",
    "1e-999",
    "-0",
    "0",
    "-1",
    "1.5",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "9" * 19,
    "9" * 5000,  # past Python's 4,300-digit int() limit
    "0x1F",
    "1_000",
    "１２",
    "٣",
    "Ⅻ",
    "true",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "../../../../etc/passwd",
    "%00",
    "%ff",
    "\u202e\u200b",
    "\ud800",  # a lone surrogate: sent as ED A0 80, which is not UTF-8
    "2026-02-30",
    "9999-12-31T23:59:59",
]
HUGE_TEXTS = ["x" * 100_000, "字" * 20_000, "\x00" * 10_000]
FILE_BODIES = {
    "csv": "name,pin\n小明,1234\n".encode(),
    "zip": b"PK\x05\x06" + b"\x00" * 18,
    "pdf": b"%PDF-1.4\n%%EOF\n",
    "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64,
}


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One method of one route: where it is, its path parameters ({name: "int"|"path"|"str"}), and the names its
    module reads from forms and query strings."""

    program: str
    method: str
    path: str
    params: dict[str, str]
    names: tuple[str, ...]
    kind: str  # "page" (GET, query fuzzed), "bodyless" (another method to a handler that reads no body), "form" (POST, CSRF-checked), "json" (a JSON API), "chunk" (PUT: a file's bytes, where in the headers), "static"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.program, self.method, self.path)


def _short(value):
    if isinstance(value, (bytes, str)) and len(value) > 80:
        return f"{value[:60]!r}…({len(value)} long)"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return repr(value)


class Sent:
    """A drawn request. `fields`: (name, value, file name or None); `encoding`: urlencoded, multipart, raw (then
    `raw` is the body with `content_type`) or none; `csrf`: valid, missing or wrong; `sign`: a hub report signed
    with the enrolled kit's key (`raw` is its JSON before gzip) or sent as is. Not a dataclass: hypothesis prints
    a dataclass field by field, 100 kB values included; this one shows a long value by its start and length."""

    def __init__(
        self,
        role: str,
        path: str,
        query: str = "",
        fields: tuple[tuple[bytes, bytes, bytes | None], ...] = (),
        encoding: str = "none",
        raw: bytes = b"",
        content_type: str = "",
        csrf: str = "valid",
        sign: bool = False,
    ) -> None:
        self.role, self.path, self.query, self.fields, self.encoding = role, path, query, fields, encoding
        self.raw, self.content_type, self.csrf, self.sign = raw, content_type, csrf, sign

    def replace(self, **changes) -> Sent:
        return Sent(**{**vars(self), **changes})

    def __repr__(self) -> str:
        return "Sent(" + ", ".join(f"{k}={_short(v)}" for k, v in vars(self).items()) + ")"


_NAME_READ = re.compile(r"""\.(?:get|getlist)\(\s*f?["']([^"'{}]+)["']|_int\(request,\s*["']([^"']+)["']""")


def names_read(endpoint) -> tuple[str, ...]:
    """Field and query names read in the handler's module (form.get("x"), query_params.getlist("x"), …)."""
    module = inspect.getmodule(inspect.unwrap(endpoint))
    found = {a or b for a, b in _NAME_READ.findall(inspect.getsource(module))} if module else set()
    return tuple(sorted(found))


def handles_forms(endpoint) -> bool:
    """Whether a POST handler reads its form through the CSRF check (posted_form/posted_upload wrap it; a bare
    handler calls checked_form or checked_upload itself)."""
    if hasattr(endpoint, "__wrapped__"):
        return True
    return bool(re.search(r"\bchecked_(form|upload)\(", inspect.getsource(endpoint)))


def reads_body(endpoint) -> bool:
    """Whether a handler reads the request's body at all (a form, JSON or the raw bytes)."""
    if hasattr(endpoint, "__wrapped__"):
        return True
    return bool(re.search(r"\b(checked_(form|upload)|request\.(form|body|json|stream))\(", inspect.getsource(endpoint)))


def endpoints(
    program: str, routes, json_routes: set[str], extra_names: dict, chunk_routes: frozenset[str] = frozenset()
) -> list[Endpoint]:
    """Every (method, route) of an app's route table, classified; an unclassifiable one has kind "unknown"."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found.append(Endpoint(program, "GET", route.path + "/{path:path}", {"path": "path"}, (), "static"))
            continue
        assert isinstance(route, Route), route
        params = {
            name: "int" if isinstance(c, IntegerConvertor) else "path" if isinstance(c, PathConvertor) else "str"
            for name, c in route.param_convertors.items()
        }
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            names = names_read(route.endpoint) + tuple(extra_names.get((program, method, route.path), ()))
            if method == "GET":
                kind = "page"
            elif method == "POST" and route.path in json_routes:
                kind = "json"
            elif method == "PUT" and route.path in chunk_routes:
                kind = "chunk"
            elif method == "POST" and handles_forms(route.endpoint):
                kind = "form"
            elif not reads_body(route.endpoint):  # e.g. the kiwix catch-all: any method, answered from the URL
                kind = "bodyless"
            else:
                kind = "unknown"
            found.append(Endpoint(program, method, route.path, params, names, kind))
    return found


def encoded(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def hostile_values(known: list[str], huge: bool = True) -> st.SearchStrategy[bytes]:
    """Field values: the kit's own ids and names (so the real code runs), and everything that broke parsers;
    `huge` adds 100 kB ones (not in a URL: clients and servers cap a request head near 64 kB)."""
    texts = st.one_of(
        st.sampled_from(known or ["1"]),
        st.sampled_from(SPECIAL_TEXTS),
        st.text(max_size=40),
        st.text(st.characters(categories=["Cs", "Cc", "Nd", "No", "Zs"]), max_size=8),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )
    values = [texts.map(encoded), st.binary(max_size=40)]  # binary: mostly not UTF-8
    return st.one_of(*values, st.sampled_from(HUGE_TEXTS).map(encoded)) if huge else st.one_of(*values)


def field_names(names: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    plain = st.sampled_from(names) if names else st.just("x")
    return st.one_of(
        plain,
        plain.map(lambda n: n + "[]"),  # an array where a string is expected (PHP's convention)
        plain.map(lambda n: n + "[0][a]"),
        st.text(max_size=12),
    ).map(encoded)


def path_values(kind: str, known: dict[str, list[str]], name: str) -> st.SearchStrategy[str]:
    """A path parameter, percent-encoded: a real id or name most of the time, else a hostile one."""
    real = known.get(name) or ["1"]
    if kind == "int":  # only digits reach an {x:int} route; the bound is 18 of them (webcore/bounded_ids.py)
        hostile = st.sampled_from(["0", "00", "1", "9" * 18, "9" * 19, str(2**63), str(2**64), "1" + "0" * 400])
        return st.one_of(st.sampled_from(real), hostile, st.integers(min_value=0, max_value=10**18).map(str))
    hostile_text = st.one_of(st.sampled_from(SPECIAL_TEXTS), st.text(min_size=1, max_size=30)).map(encoded)
    safe = "/" if kind == "path" else ""
    return st.one_of(
        st.sampled_from(real),
        hostile_text.map(lambda b: quote_from_bytes(b, safe=safe) or "x"),
        st.sampled_from(["..", "%2e%2e", "..%2f..%2fetc%2fpasswd", "%00", "%ff%fe", "a%2fb", "x" * 3000]),
    )


def filled_path(endpoint: Endpoint, values: dict[str, str]) -> str:
    path = endpoint.path
    for name, value in values.items():
        path = re.sub(r"\{" + re.escape(name) + r"(:[a-z]+)?\}", lambda _m, v=value: v, path)
    return path


def query_strings(names: tuple[str, ...], known: list[str]) -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(field_names(names), hostile_values(known, huge=False)), max_size=6)
    return pairs.map(lambda ps: "&".join(quote_from_bytes(n) + "=" + quote_from_bytes(v) for n, v in ps))


def forms(names: tuple[str, ...], known: list[str]) -> st.SearchStrategy[tuple]:
    """(fields, encoding): any subset of the handler's names, repeated or missing, some as files."""
    file_names = st.one_of(
        st.none(), st.sampled_from(["a.jpg", "roster.csv", "x.pdf", "", "../../x.zim", "\x00.png"]).map(encoded)
    )
    field = st.tuples(field_names(names), hostile_values(known), file_names)
    return st.tuples(
        st.lists(field, max_size=14).map(tuple),
        st.sampled_from(["urlencoded", "multipart"]),
    )


def json_values(max_leaves: int = 30) -> st.SearchStrategy:
    """JSON of any shape: deep, wide, wrong types, huge strings, huge integers (non-finite ones are sent raw)."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30),
        st.sampled_from(SPECIAL_TEXTS + HUGE_TEXTS[:1]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)),
        max_leaves=max_leaves,
    )


RAW_JSON = [
    b"",
    b"[" * 4000,
    b"{" * 40 + b"}" * 40,
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": 1e999}',
    b'{"a": -1e999}',
    b'{"a": ' + b"9" * 5000 + b"}",
    b"\xff\xfe{}",
    b'{"a": "\xed\xa0\x80"}',
    b'{"a": "\\ud800"}',
    b'{"a": 1, "a": 2}',
    b"null",
    b'"text"',
    b"[" + b"1," * 5000 + b"1]",
    quote("é").encode(),
]


def quoted(path: str) -> str:
    return quote(path, safe="/%:@!$&'()*+,;=-._~")


def enrolment_shaped(known: dict) -> st.SearchStrategy[bytes]:
    """An enrolment with the waiting kit's id, token and a real key, some replaced by hostile JSON."""
    field = lambda name: st.one_of(st.sampled_from(known[name]), json_values(5))  # noqa: E731
    return st.fixed_dictionaries(
        {"kit_id": field("kit_id"), "token": field("token"), "public_key": field("public_key")}
    ).map(lambda data: json.dumps(data).encode())


def report_shaped() -> st.SearchStrategy[bytes]:
    """A report as kit-1 would write it, its body or one field replaced by hostile JSON or a non-finite number."""

    def build(kind: str, body, field: str, replacement) -> bytes:
        report = {
            "format": report_file.FORMAT,
            "kit_id": "kit-1",
            "report_id": str(uuid.uuid4()),
            "sequence": 1,
            "kind": kind,
            "made_at": "2026-11-28T16:00:00Z",
            "clock_synchronised": True,
            "applied_config_version": None,
            "body": body if isinstance(body, dict) else {"value": body},
        }
        if field in report["body"]:
            report["body"][field] = replacement
        return json.dumps(report).encode()

    heartbeat = health_body("kit-1")
    return st.builds(
        build,
        st.sampled_from(report_file.KINDS),
        st.one_of(st.just(heartbeat), json_values(60)),
        st.sampled_from(sorted(heartbeat)),
        st.one_of(json_values(10), st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**64, -0.0])),
    )
