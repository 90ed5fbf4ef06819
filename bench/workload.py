"""What gets benchmarked: the ZIM, each server's URL layout, and the endpoints.

kiwix-serve 3.3.0 (libkiwix 11) serves articles at /<book>/<path>; newer
kiwix-serve and tpkit use /content/<book>/<path>.  The layout of every server
is therefore probed instead of assumed, and recorded in the results.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from servers import http_get

REFERENCE = "kiwix"  # the server whose "hot" test uses the /raw endpoint
SAMPLE_SIZE = 1000
MAKE_ZIM = Path(__file__).with_name("make_zim.py")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tpkit-bench"
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Corpus:
    """The ZIM under test plus the request material taken from its sidecars."""

    zim: Path
    book: str
    sample: list[str]
    every_article: list[str]  # the whole book, shuffled: "first-reads" never asks for the same article twice a cell
    search_words: list[str]
    suggest_prefixes: list[str]
    image_path: str
    main_path: str

    @property
    def hot_path(self) -> str:
        return self.sample[0]


@dataclass
class Layout:
    """Where one server exposes the book."""

    content_prefix: str
    main_page: str
    raw_prefix: str | None = None


@dataclass
class Endpoint:
    name: str
    note: str
    targets: dict[str, list[str]] = field(default_factory=dict)  # server -> request paths


def ensure_zim(zim: Path | None, articles: int, images: int, seed: int, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Return the ZIM path, generating it with make_zim.py if it does not exist."""
    path = zim or cache_dir / f"bench-{articles}-{images}-s{seed}.zim"
    if not path.exists():
        print(f"[bench] generating {path} ...", flush=True)
        cmd = [
            sys.executable,
            str(MAKE_ZIM),
            "--out",
            str(path),
            "--articles",
            str(articles),
            "--images",
            str(images),
            "--seed",
            str(seed),
        ]
        subprocess.run(cmd, check=True)
    return path


def load_corpus(zim: Path, seed: int) -> Corpus:
    """Read PATH.paths.txt / PATH.terms.json written by make_zim.py."""
    paths_file, terms_file = Path(f"{zim}.paths.txt"), Path(f"{zim}.terms.json")
    if not (paths_file.exists() and terms_file.exists()):
        sys.exit(f"missing {paths_file} or {terms_file}: generate the ZIM with make_zim.py")
    paths = paths_file.read_text().split()
    terms = json.loads(terms_file.read_text())
    sample = random.Random(seed).sample(paths, min(SAMPLE_SIZE, len(paths)))
    every_article = random.Random(seed + 1).sample(paths, len(paths))
    return Corpus(
        zim=zim,
        book=zim.stem,
        sample=sample,
        every_article=every_article,
        search_words=terms["search_words"],
        suggest_prefixes=terms["suggest_prefixes"],
        image_path=terms["image_paths"][0],
        main_path=terms["main_path"],
    )


def catalog_books(port: int) -> list[str]:
    """Book names from the OPDS feed (last segment of each entry's text/html link)."""
    status, _, body = http_get(port, "/catalog/v2/entries")
    if status != 200:
        return []
    names = []
    for link in ET.fromstring(body).iter(f"{ATOM}link"):
        if link.get("type") == "text/html" and link.get("href"):
            names.append(link.get("href").rstrip("/").rsplit("/", 1)[-1])
    return names


def resolve_redirects(port: int, path: str, hops: int = 5) -> str:
    """Follow 3xx responses from `path`; return the path that answers 200."""
    for _ in range(hops):
        status, headers, _ = http_get(port, path)
        if status == 200:
            return path
        if not 300 <= status < 400 or "location" not in headers:
            break
        parts = urlsplit(headers["location"])
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    raise RuntimeError(f"main page via {path} did not resolve to a 200 (last: {status})")


def detect_layout(port: int, corpus: Corpus) -> Layout:
    """Probe /content/<book>/ then /<book>/ with a known article, and /raw/."""
    article = quote(corpus.hot_path)
    for prefix in (f"/content/{corpus.book}/", f"/{corpus.book}/"):
        if http_get(port, prefix + article)[0] == 200:
            break
    else:
        raise RuntimeError(f"article {corpus.hot_path} not found under any known prefix")
    raw = f"/raw/{corpus.book}/content/"
    raw_ok = http_get(port, raw + article)[0] == 200
    return Layout(content_prefix=prefix, main_page=resolve_redirects(port, prefix), raw_prefix=raw if raw_ok else None)


def hot_path(server: str, layout: Layout, article: str) -> str:
    use_raw = server == REFERENCE and layout.raw_prefix
    return (layout.raw_prefix if use_raw else layout.content_prefix) + quote(article)


def build_endpoints(corpus: Corpus, layouts: dict[str, Layout]) -> list[Endpoint]:
    """All endpoints; servers absent from an endpoint's targets are skipped."""
    book, hot = quote(corpus.book), corpus.hot_path
    prefixes, words = corpus.suggest_prefixes, corpus.search_words
    content = {name: lay.content_prefix for name, lay in layouts.items()}

    def every(paths) -> dict[str, list[str]]:
        paths = list(paths)
        return {name: paths for name in layouts}

    endpoints = [
        Endpoint(
            "hot",
            "one article; kiwix via /raw/<book>/content/, tpkit via content",
            {n: [hot_path(n, lay, hot)] for n, lay in layouts.items()},
        ),
        Endpoint(
            "hot-content",
            "same article via kiwix's content URL (reference only)",
            {n: [p + quote(hot)] for n, p in content.items() if n == REFERENCE},
        ),
        Endpoint(
            "random",
            f"{len(corpus.sample)} fixed random articles via content URL",
            {n: [p + quote(a) for a in corpus.sample] for n, p in content.items()},
        ),
        Endpoint(
            "first-reads",
            f"all {len(corpus.every_article)} articles, shuffled: each read once a cell (until a fast cell wraps)",
            {n: [p + quote(a) for a in corpus.every_article] for n, p in content.items()},
        ),
        Endpoint(
            "image", "one PNG image via content URL", {n: [p + quote(corpus.image_path)] for n, p in content.items()}
        ),
        Endpoint(
            "suggest",
            f"{len(prefixes)} rotating title prefixes",
            every(f"/suggest?content={book}&term={quote(t)}" for t in prefixes),
        ),
        Endpoint(
            "search",
            f"{len(words)} rotating full-text words, each server's default page length",
            every(f"/search?content={book}&pattern={quote(w)}" for w in words),
        ),
        Endpoint(
            "search25",
            f"{len(words)} rotating full-text words, pageLength=25 on both",
            every(f"/search?content={book}&pattern={quote(w)}&pageLength=25" for w in words),
        ),
        Endpoint("catalog", "OPDS catalog feed", every(["/catalog/v2/entries"])),
    ]
    return [ep for ep in endpoints if ep.targets]
