"""In-process costs of tpkit's hot paths, without HTTP: the app called as ASGI, and the services directly.

    .venv/bin/python bench/inprocess.py --zim /tmp/bench.zim

Numbers are the best of 5 rounds (least disturbed by other work on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.library import search
from appliance.web.app import create_app


def best_of(rounds: int, count: int, call) -> float:
    """Microseconds per call, best of `rounds` rounds of `count` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            call()
        best = min(best, (time.perf_counter() - start) / count * 1e6)
    return best


def asgi_cost(app, path: str, count: int = 3000, cookie: str = "") -> float:
    """Microseconds per request of `path` through the ASGI app (with `cookie` as the Cookie header), best of 5."""
    headers = [(b"host", b"bench")] + ([(b"cookie", cookie.encode())] if cookie else [])
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        return None

    async def rounds() -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(count):
                await app(dict(scope), receive, send)
            best = min(best, (time.perf_counter() - start) / count * 1e6)
        return best

    return asyncio.run(rounds())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zim", type=Path, required=True, help="a ZIM made by bench/make_zim.py")
    args = parser.parse_args()
    terms = json.loads(args.zim.with_name(args.zim.name + ".terms.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / args.zim.name).symlink_to(args.zim.resolve())
        kit = open_kit(load_settings(environ={}, overrides={"data_dir": f"{tmp}/data", "content_dir": str(content)}))
        book = kit.library.books()[0]
        app = create_app(kit, watch_library=False)
        main_path = book.zim.main_path
        print(f"cached article through the ASGI app: {asgi_cost(app, f'/content/{book.name}/{main_path}'):.1f} µs")
        print(f"OPDS catalog through the ASGI app: {asgi_cost(app, '/catalog/v2/entries'):.1f} µs")
        prefix = terms["suggest_prefixes"][0]
        suggest_url = f"/suggest?content={book.name}&term={prefix}"
        print(f"suggestion asked again through the ASGI app: {asgi_cost(app, suggest_url):.1f} µs")
        print(f"suggest service, 10 titles: {best_of(5, 300, lambda: search.suggest([book], prefix, 10)):.0f} µs")
        words = terms["search_words"][:10]
        cost = best_of(1, 1, lambda: [search.search([book], w, 0, 25) for w in words]) / len(words) / 1000
        print(f"search service, 25 results with snippets: {cost:.0f} ms per word ({len(words)} words)")
        kit.close()


if __name__ == "__main__":
    main()
