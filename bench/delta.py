"""Measure ZIM patches against plain rsync for a v1 -> v2 book update (issue 3, "Measure" (1)).

v1 is make_zim.py's generated wiki; v2 is the same wiki with EDIT_SHARE of its articles edited (a new paragraph)
and ADD_SHARE added, and a new Date. Both are cached in the work folder (a 20,000-article ZIM takes ~5 min to
write). Then it measures:
  - the patch `tpkit channel publish --previous` would write (bytes, time to make it),
  - rebuilding v2 from v1 + patch with `python -m appliance channel apply` (wall time, peak RSS of that process),
  - the bytes a plain rsync delta moves for the same update through a real rsync daemon on loopback (v1 as basis),
    with and without -z, and the bytes rsync moves to fetch the patch itself.

Usage (from the repository root):
  .venv/bin/python bench/delta.py --work /tmp/tpkit-delta [--articles 20000] [--images 2000] [--skip-rebuild]
The patch is cached too (PATCH.json records what making it cost). Writes WORK/delta-<articles>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from libzim.writer import Creator, Hint

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import make_zim  # noqa: E402  (bench/ is not a package)

from appliance.content import zimdelta  # noqa: E402

EDIT_SHARE = 0.02
ADD_SHARE = 0.01
BOOK = "bench_delta"


def build_version(out: Path, n_articles: int, n_images: int, seed: int, version: int, image_kb: int = 0) -> None:
    """Write v1 (version 1) or v2 (edits and additions) of the wiki; v2's other entries are byte-identical to v1's.

    `image_kb`: images of about that size instead of 5-20 KB (make_zim.make_image), for a large book."""
    rng = random.Random(seed)
    vocab = make_zim.make_vocabulary(rng)
    titles = make_zim.make_titles(rng, vocab, n_articles)
    changes = random.Random(seed + 1)  # a second generator: v1's sequence of random draws stays untouched
    edited = set(changes.sample(titles, int(n_articles * EDIT_SHARE))) if version > 1 else set()
    added = _new_titles(changes, vocab, set(titles), int(n_articles * ADD_SHARE)) if version > 1 else []
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    front = {Hint.COMPRESS: True, Hint.FRONT_ARTICLE: True}
    with Creator(str(tmp)).config_indexing(True, "eng").config_nbworkers(2) as creator:
        creator.set_mainpath("mainPage")
        meta = {
            "Title": "tpkit delta benchmark wiki",
            "Description": "Synthetic articles, version " + str(version),
            "Language": "eng",
            "Creator": "tpkit bench",
            "Publisher": "tpkit bench",
            "Date": f"2026-0{version}-01",
            "Name": BOOK,
            "Tags": "_category:other;_ftindex:yes",
        }
        for key, value in meta.items():
            creator.add_metadata(key, value)
        creator.add_illustration(48, make_zim.make_illustration())
        image_paths = make_zim.add_images(creator, rng, n_images, image_kb)
        writer = make_zim.ArticleWriter(rng, vocab, titles, image_paths)
        editor = make_zim.ArticleWriter(changes, vocab, titles, image_paths)
        creator.add_item(make_zim.Entry("mainPage", "Main Page", "text/html", make_zim.main_page_html(titles), front))
        for title in titles:
            html = writer.html(title)
            if title in edited:
                html = html.replace("</h1>\n", "</h1>\n" + editor.paragraph(), 1)
            creator.add_item(make_zim.Entry(make_zim.title_to_path(title), title, "text/html", html, front))
        for title in added:
            creator.add_item(
                make_zim.Entry(make_zim.title_to_path(title), title, "text/html", editor.html(title), front)
            )
        make_zim.add_redirects(creator, titles)
    tmp.rename(out)


def _new_titles(rng: random.Random, vocab: list[str], taken: set[str], count: int) -> list[str]:
    titles: list[str] = []
    while len(titles) < count:
        title = "New " + " ".join(w.capitalize() for w in rng.sample(vocab[200:], 2))
        if title not in taken:
            taken.add(title)
            titles.append(title)
    return titles


def cached_version(work: Path, args: argparse.Namespace, version: int) -> Path:
    out = work / f"v{version}-{args.articles}" / f"{BOOK}.zim"
    if not out.exists():
        start = time.monotonic()
        build_version(out, args.articles, args.images, args.seed, version)
        print(f"[i] wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - start:.0f} s", flush=True)
    return out


def rebuild(v1: Path, patch: Path, out: Path) -> dict:
    """Run the kit's rebuild as its own process: wall time and that process's peak RSS."""
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "channel", "apply", str(v1), str(patch), "--out", str(out)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"rebuild failed with exit code {process.returncode}")
    return {"rebuild_s": round(time.monotonic() - start, 1), "rebuild_peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rsync_bytes(work: Path, source_dir: Path, name: str, basis: Path | None, compress: bool) -> dict:
    """Bytes a client moves fetching `name` from a loopback rsync daemon serving `source_dir`, with `basis` in place."""
    conf_dir = work / "rsyncd"
    conf_dir.mkdir(exist_ok=True)
    port = _free_port()
    conf = conf_dir / "rsyncd.conf"
    conf.write_text(f"use chroot = no\npid file = {conf_dir}/rsyncd.pid\n[src]\npath = {source_dir}\nread only = yes\n")
    daemon = subprocess.Popen(
        ["rsync", "--daemon", "--no-detach", f"--config={conf}", f"--port={port}", "--address=127.0.0.1"]
    )
    try:
        _wait_for_port(port)
        dest = work / "rsync-dest"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        if basis is not None:
            shutil.copy2(basis, dest / name)
        flags = ["-a", "--no-whole-file", "--stats"] + (["-z"] if compress else [])
        done = subprocess.run(
            ["rsync", *flags, f"rsync://127.0.0.1:{port}/src/{name}", str(dest) + "/"],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    received = int(re.search(r"Total bytes received: ([\d,]+)", done.stdout).group(1).replace(",", ""))
    sent = int(re.search(r"Total bytes sent: ([\d,]+)", done.stdout).group(1).replace(",", ""))
    return {"received": received, "sent": sent}


def _wait_for_port(port: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"rsync daemon did not listen on 127.0.0.1:{port}")


def cached_patch(work: Path, v1: Path, v2: Path, articles: int) -> tuple[Path, dict]:
    """The patch v1 -> v2 and what making it cost, cached beside it (PATCH.json) like v1 and v2."""
    patch = work / f"{BOOK}-{articles}{zimdelta.PATCH_SUFFIX}"
    record = patch.with_name(patch.name + ".json")
    if patch.exists() and record.exists():
        return patch, json.loads(record.read_text())
    start = time.monotonic()
    manifest = zimdelta.write_patch(v1, v2, patch)
    made = {"counts": manifest["counts"], "make_patch_s": round(time.monotonic() - start, 1)}
    record.write_text(json.dumps(made) + "\n")
    return patch, made


def measure(args: argparse.Namespace) -> dict:
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    v1, v2 = cached_version(work, args, 1), cached_version(work, args, 2)
    patch, made = cached_patch(work, v1, v2, args.articles)
    v2_bytes, patch_bytes = v2.stat().st_size, patch.stat().st_size
    results = {
        "articles": args.articles,
        "images": args.images,
        "v1_bytes": v1.stat().st_size,
        "v2_bytes": v2_bytes,
        **made,
        "patch_bytes": patch_bytes,
        "patch_share": round(patch_bytes / v2_bytes, 4),
    }
    for label, compress in (("rsync", False), ("rsync_z", True)):
        moved = rsync_bytes(work, v2.parent, v2.name, v1, compress)
        results[label] = {**moved, "share": round((moved["received"] + moved["sent"]) / v2_bytes, 4)}
    moved = rsync_bytes(work, patch.parent, patch.name, None, False)
    results["rsync_patch"] = {**moved, "share": round((moved["received"] + moved["sent"]) / v2_bytes, 4)}
    if not args.skip_rebuild:
        rebuilt = work / f"rebuilt-{args.articles}.zim"
        results.update(rebuild(v1, patch, rebuilt), rebuilt_bytes=rebuilt.stat().st_size)
    return results


def table(r: dict) -> str:
    mb = 1e6
    return "\n".join(
        [
            f"v1 {r['v1_bytes'] / mb:.1f} MB, v2 {r['v2_bytes'] / mb:.1f} MB ({r['articles']} articles, {r['images']} images); "
            f"diff: {r['counts']}",
            "| update path | bytes on the wire | share of v2 |",
            "|---|---:|---:|",
            f"| patch (.zimpatch fetched by rsync) | {r['rsync_patch']['received'] + r['rsync_patch']['sent']:,} | "
            f"{r['rsync_patch']['share']:.1%} |",
            f"| plain rsync, v1 as basis | {r['rsync']['received'] + r['rsync']['sent']:,} | {r['rsync']['share']:.1%} |",
            f"| plain rsync -z, v1 as basis | {r['rsync_z']['received'] + r['rsync_z']['sent']:,} | "
            f"{r['rsync_z']['share']:.1%} |",
            f"\npatch file {r['patch_bytes']:,} bytes ({r['patch_share']:.1%} of v2), made in {r['make_patch_s']} s; "
            + (
                f"rebuild {r['rebuild_s']} s, peak RSS {r['rebuild_peak_rss_mb']} MB, rebuilt file {r['rebuilt_bytes']:,} bytes"
                if "rebuild_s" in r
                else "rebuild not run (--skip-rebuild)"
            ),
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="cache and scratch folder (keeps v1/v2 between runs)")
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-rebuild", action="store_true", help="measure sizes and rsync only")
    args = parser.parse_args(argv)
    results = measure(args)
    (args.work / f"delta-{args.articles}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
