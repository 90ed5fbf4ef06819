"""Generate a deterministic, realistic ZIM file for benchmarking tpkit vs kiwix-serve.

The archive contains pseudo-random HTML articles (headings, paragraphs, links
between articles, an <img> in ~10% of them), generated PNG images, a main page,
the usual metadata, a 48x48 illustration, a few redirects and a full-text index.

Besides the ZIM, two sidecar files are written next to it:
  PATH.paths.txt   one article path per line (used by the random-article test)
  PATH.terms.json  words known to occur in the text and title prefixes
                   (used by the search and suggest tests)

Usage: python make_zim.py --out bench.zim [--articles 20000] [--images 2000] [--seed 42] [--image-kb 220]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import struct
import sys
import time
import zlib
from pathlib import Path

from libzim.writer import Creator, Hint, Item, StringProvider

SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "te",
    "sa",
    "lu",
    "no",
    "vi",
    "ra",
    "en",
    "do",
    "ba",
    "li",
    "tor",
    "an",
    "el",
    "is",
    "ur",
    "pe",
    "qua",
    "zen",
    "mar",
    "los",
    "tin",
    "ver",
    "gal",
    "hum",
    "dra",
    "fel",
    "cor",
    "nes",
    "pri",
    "ost",
    "wel",
    "yan",
    "bru",
]
VOCAB_SIZE = 6000
TARGET_ARTICLE_BYTES = 14_000
REDIRECT_COUNT = 10
NOISE_MASK = bytes(i & 0xF0 for i in range(256))


class Entry(Item):
    """A ZIM item backed by an in-memory str/bytes payload."""

    def __init__(self, path: str, title: str, mimetype: str, data, hints: dict):
        super().__init__()
        self._path, self._title, self._mime = path, title, mimetype
        self._data, self._hints = data, hints

    def get_path(self) -> str:
        return self._path

    def get_title(self) -> str:
        return self._title

    def get_mimetype(self) -> str:
        return self._mime

    def get_contentprovider(self):
        return StringProvider(self._data)

    def get_hints(self) -> dict:
        return self._hints


def make_vocabulary(rng: random.Random) -> list[str]:
    """Build VOCAB_SIZE distinct pronounceable pseudo-words, most frequent first."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCAB_SIZE:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_cum_weights(n: int) -> list[float]:
    """Cumulative Zipf(1) weights so a few words are common and many are rare."""
    return list(itertools.accumulate(1.0 / (rank + 1) for rank in range(n)))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """Encode one PNG chunk (length, type, data, CRC)."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def make_png(width: int, height: int, pixels: bytes, level: int = 6) -> bytes:
    """Encode raw 8-bit RGB pixel bytes (row-major) as a PNG file (zlib `level`)."""
    stride = width * 3
    raw = b"".join(b"\x00" + pixels[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(raw, level))
        + png_chunk(b"IEND", b"")
    )


def make_image(rng: random.Random, image_kb: int = 0) -> bytes:
    """A noisy PNG of roughly 5-20 KB (4 random bits per channel), or of about `image_kb` KB of full noise.

    The large kind stands for a book's photos (JPEG/WebP: incompressible) and is stored, not deflated, so a
    ~1 GB book is quick to write (bench/layer_apply.py)."""
    if image_kb:
        side = int((image_kb * 1024 / 3) ** 0.5)
        return make_png(side, side, rng.randbytes(side * side * 3), level=0)
    side = rng.randint(60, 110)
    pixels = rng.randbytes(side * side * 3).translate(NOISE_MASK)
    return make_png(side, side, pixels)


def make_illustration() -> bytes:
    """A valid 48x48 PNG used as Illustration_48x48@1."""
    pixels = bytes(v for y in range(48) for x in range(48) for v in (x * 5, y * 5, 160))
    return make_png(48, 48, pixels)


def make_titles(rng: random.Random, vocab: list[str], count: int) -> list[str]:
    """Unique human-looking article titles made of 1-3 capitalised words."""
    titles, seen = [], set()
    pool = vocab[200:]  # avoid the most frequent words so titles are distinctive
    while len(titles) < count:
        title = " ".join(w.capitalize() for w in rng.sample(pool, rng.randint(1, 3)))
        if title not in seen:
            seen.add(title)
            titles.append(title)
    return titles


def title_to_path(title: str) -> str:
    return title.replace(" ", "_")


class ArticleWriter:
    """Produces article HTML from a shared vocabulary and title list."""

    def __init__(self, rng, vocab, titles, image_paths):
        self.rng, self.vocab, self.titles = rng, vocab, titles
        self.image_paths = image_paths
        self.cum = zipf_cum_weights(len(vocab))

    def sentence(self) -> str:
        words = self.rng.choices(self.vocab, cum_weights=self.cum, k=self.rng.randint(6, 18))
        return " ".join(words).capitalize() + "."

    def link(self) -> str:
        title = self.titles[self.rng.randrange(len(self.titles))]
        return f'<a href="{title_to_path(title)}">{title}</a>'

    def paragraph(self) -> str:
        parts = [self.sentence() for _ in range(self.rng.randint(3, 7))]
        for _ in range(self.rng.randint(1, 3)):
            parts.insert(self.rng.randrange(len(parts) + 1), self.link())
        return "<p>" + " ".join(parts) + "</p>\n"

    def body(self, title: str) -> list[str]:
        out = [f"<h1>{title}</h1>\n"]
        if self.image_paths and self.rng.random() < 0.10:
            img = self.image_paths[self.rng.randrange(len(self.image_paths))]
            out.append(f'<figure><img src="{img}" alt="{title}"></figure>\n')
        size, section = 0, 0
        while size < TARGET_ARTICLE_BYTES:
            if size >= section * 2500:
                section += 1
                out.append(f"<h2>{self.sentence()[:-1]}</h2>\n")
            para = self.paragraph()
            out.append(para)
            size += len(para)
        return out

    def html(self, title: str) -> str:
        head = f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>\n'
        return head + "".join(self.body(title)) + "</body></html>\n"


def main_page_html(titles: list[str]) -> str:
    links = "".join(f'<li><a href="{title_to_path(t)}">{t}</a></li>\n' for t in titles[:100])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Benchmark Main Page</title></head><body>\n"
        f"<h1>Benchmark Main Page</h1>\n<ul>\n{links}</ul>\n</body></html>\n"
    )


def add_metadata(creator: Creator, name: str) -> None:
    meta = {
        "Title": "tpkit benchmark wiki",
        "Description": "Synthetic articles for benchmarking ZIM servers",
        "Language": "eng",
        "Creator": "tpkit bench",
        "Publisher": "tpkit bench",
        "Date": dt.date.today().isoformat(),
        "Name": name,
        "Tags": "_category:other;_pictures:yes;_videos:no;_details:yes;_ftindex:yes",
    }
    for key, value in meta.items():
        creator.add_metadata(key, value)
    creator.add_illustration(48, make_illustration())


def add_images(creator: Creator, rng: random.Random, count: int, image_kb: int = 0) -> list[str]:
    paths = []
    for i in range(count):
        path = f"images/img_{i:05d}.png"
        creator.add_item(Entry(path, "", "image/png", make_image(rng, image_kb), {Hint.COMPRESS: False}))
        paths.append(path)
    return paths


def add_articles(creator: Creator, writer: ArticleWriter) -> list[str]:
    paths = []
    front = {Hint.COMPRESS: True, Hint.FRONT_ARTICLE: True}
    for title in writer.titles:
        path = title_to_path(title)
        creator.add_item(Entry(path, title, "text/html", writer.html(title), front))
        paths.append(path)
    return paths


def add_redirects(creator: Creator, titles: list[str]) -> None:
    hints = {Hint.FRONT_ARTICLE: False}
    for i, title in enumerate(titles[:REDIRECT_COUNT]):
        creator.add_redirection(f"Redirect_{i}", f"Redirect {i}", title_to_path(title), hints)


def write_sidecars(out: Path, paths: list[str], vocab: list[str], images: list[str]) -> None:
    """Write PATH.paths.txt and PATH.terms.json (see module docstring)."""
    Path(f"{out}.paths.txt").write_text("\n".join(paths) + "\n")
    first_words = [p.split("_")[0] for p in paths[:500]]
    prefixes = sorted({w[:4].lower() for w in first_words})[:50]
    words = vocab[20:45] + vocab[1000:3000:80]  # 25 common and 25 rarer words
    terms = {"search_words": words, "suggest_prefixes": prefixes, "image_paths": images[:10], "main_path": "mainPage"}
    Path(f"{out}.terms.json").write_text(json.dumps(terms, indent=1) + "\n")


def build(out: Path, n_articles: int, n_images: int, seed: int, image_kb: int = 0) -> None:
    rng = random.Random(seed)
    vocab = make_vocabulary(rng)
    titles = make_titles(rng, vocab, n_articles)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    creator = Creator(str(tmp)).config_indexing(True, "eng").config_nbworkers(2)
    with creator:
        creator.set_mainpath("mainPage")
        add_metadata(creator, out.stem)
        image_paths = add_images(creator, rng, n_images, image_kb)
        writer = ArticleWriter(rng, vocab, titles, image_paths)
        main = main_page_html(titles)
        front = {Hint.COMPRESS: True, Hint.FRONT_ARTICLE: True}
        creator.add_item(Entry("mainPage", "Main Page", "text/html", main, front))
        paths = add_articles(creator, writer)
        add_redirects(creator, titles)
    tmp.rename(out)
    write_sidecars(out, paths, vocab, image_paths)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench.zim"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--image-kb", type=int, default=0, help="images of about this size, incompressible (0: 5-20 KB)"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.monotonic()
    build(args.out, args.articles, args.images, args.seed, args.image_kb)
    elapsed = time.monotonic() - start
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:.1f} MB, {args.articles} articles, {args.images} images) in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
