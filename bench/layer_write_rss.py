"""Where the RSS of writing a layer goes (issue 21, docs/performance.md "Sync (issue 21): apply ∝ edit").

Two measurements, each in a fresh process, VmRSS sampled every 5 ms:
  --patch FILE   zimlayers.write_layer of that patch (peak RSS above the interpreter with tpkit loaded)
  --articles N   a plain libzim write of N small HTML articles with zstd and with Compression.none, to show the
                 share of libzim's zstd context (it compresses at level 19)

Usage: .venv/bin/python bench/layer_write_rss.py [--patch P.zimpatch] [--articles 300]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

_SAMPLER = """
import threading, time
peak = [0]
def _watch():
    while True:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        time.sleep(0.005)
threading.Thread(target=_watch, daemon=True).start()
"""

_LAYER = """
from pathlib import Path
from appliance.content import zimlayers
time.sleep(0.05); before = peak[0]
zimlayers.write_layer(Path({patch!r}), Path({out!r}))
time.sleep(0.05)
print(f"write_layer: {{(peak[0] - before) / 1024:.0f}} MB above {{before / 1024:.0f}} MB")
"""

_PLAIN = """
from libzim.writer import Compression, Creator, Hint, Item, StringProvider
class Article(Item):
    def __init__(self, number): super().__init__(); self.number = number
    def get_path(self): return f"a{{self.number}}"
    def get_title(self): return f"A {{self.number}}"
    def get_mimetype(self): return "text/html"
    def get_contentprovider(self): return StringProvider(f"<p>{{self.number}} " + "word " * 500 + "</p>")
    def get_hints(self): return {{Hint.FRONT_ARTICLE: True, Hint.COMPRESS: True}}
time.sleep(0.05); before = peak[0]
creator = Creator({out!r}).config_nbworkers(1)
if {none!r}:
    creator.config_compression(Compression.none)
with creator:
    for number in range({articles}):
        creator.add_item(Article(number))
time.sleep(0.05)
print(f"{{'Compression.none' if {none!r} else 'zstd'}}: {{(peak[0] - before) / 1024:.0f}} MB above {{before / 1024:.0f}} MB")
"""


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", _SAMPLER + code], check=True, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=Path, help="a .zimpatch to write as a layer")
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        if args.patch:
            _run(_LAYER.format(patch=str(args.patch), out=f"{work}/layer.zim"))
        for none in (False, True):
            _run(_PLAIN.format(out=f"{work}/plain{none}.zim", none=none, articles=args.articles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
