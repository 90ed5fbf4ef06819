"""`tpkit pack` on a large folder (issue 17, docs/performance.md "tpkit pack"): time and peak memory for 2 GB of
video stored as given, the 480p encode rate, and the patch a corrected worksheet costs in a video book.

The folder is made here with ffmpeg: one 720p clip of about 100 MB (testsrc2 + sine, x264 at a high bitrate so it is
big), copied N times by stream copy (each copy differs by its title tag), a two-page worksheet PDF and a manifest.
Every `tpkit pack` runs as its own process, which reports its own peak RSS and its largest tool's (ffmpeg, ffprobe,
pdftoppm) as the kernel counts them (getrusage).

Usage: .venv/bin/python bench/pack.py --work /tmp/tpkit-pack [--videos 20] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.content import zimdelta  # noqa: E402
from tests.services.packing.pack_folders import make_pdf  # noqa: E402

CLIP_SECONDS = 60
CLIP_KBPS = 13_000  # 60 s at 13 Mb/s (+ audio) ≈ 100 MB, the size of a recorded 40-minute lesson at 480p


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_clip(path: Path) -> Path:
    source = f"testsrc2=size=1280x720:rate=25:duration={CLIP_SECONDS}"
    _ffmpeg(
        *("-f", "lavfi", "-i", source, "-f", "lavfi", "-i", f"sine=frequency=300:duration={CLIP_SECONDS}"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-b:v", f"{CLIP_KBPS}k", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest", str(path)),
    )
    return path


def make_folder(folder: Path, clip: Path, videos: int, worksheet: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for number in range(1, videos + 1):
        name = f"u{(number - 1) // 4 + 1}/lesson-{number}.mp4"
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            _ffmpeg("-i", str(clip), "-c", "copy", "-metadata", f"title=lesson {number}", str(target))
        unit, lesson = (number - 1) // 4 + 1, (number - 1) % 4 + 1
        items.append(
            f'[[item]]\nfile = "{name}"\ntitle = "第{unit}单元 第{lesson}课"\nunit = {unit}\nlesson = {lesson}\n'
        )
    make_pdf(folder / "u1" / "worksheet.pdf", ["Worksheet: add two-digit numbers", worksheet])
    items.append('[[item]]\nfile = "u1/worksheet.pdf"\ntitle = "第一单元练习"\nunit = 1\n')
    head = (
        'name = "bench-video-book"\ntitle = "县名师课堂（测试）"\nlanguage = "zho"\nlicence = "CC-BY-4.0"\n'
        'creator = "bench"\ndate = "2026-12-07"\nedition = "rjb"\ngrade = 3\nvolume = 1\nsubject = "math"\n\n'
    )
    (folder / "pack.toml").write_text(head + "\n".join(items), encoding="utf-8")
    return folder


# `tpkit pack` run in a process that says, as it ends, its own peak RSS and that of its largest child (ffmpeg).
_PACK = """
import resource, sys
from appliance.cli import main
code = main(sys.argv[1:])
own, child = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(f"PEAK {own} {child}", file=sys.stderr)
sys.exit(code)
"""


def run_pack(folder: Path, out: Path, *options: str) -> dict:
    """One `tpkit pack` in its own process: wall time, its peak RSS and its largest tool's, the book's size."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _PACK, "pack", str(folder), "--out", str(out), *options],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    seconds = time.monotonic() - started
    own_kb, child_kb = (int(n) for n in done.stderr.rsplit("PEAK ", 1)[1].split())
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(own_kb / 1024, 1),
        "largest_tool_rss_mb": round(child_kb / 1024, 1),
        "book_bytes": out.stat().st_size,
    }


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--videos", type=int, default=21)  # 21 x 98 MB: over 2 GB
    parser.add_argument("--keep", action="store_true", help="keep the 2 GB folder and books afterwards")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    clip = work / "clip.mp4"
    if not clip.exists():
        make_clip(clip)
    results: dict = {"clip_bytes": clip.stat().st_size, "videos": args.videos}
    folder = make_folder(work / "folder", clip, args.videos, "Page two: subtract")
    results["folder_bytes"] = folder_bytes(folder)
    results["pack_as_given"] = run_pack(folder, work / "v1" / "book.zim")
    print(json.dumps(results, ensure_ascii=False), flush=True)
    make_pdf(folder / "u1" / "worksheet.pdf", ["Worksheet: add two-digit numbers", "Page two: subtract, corrected"])
    results["pack_corrected"] = run_pack(folder, work / "v2" / "book.zim")
    started = time.monotonic()
    manifest = zimdelta.write_patch(work / "v1" / "book.zim", work / "v2" / "book.zim", work / "book.zimpatch")
    results["patch"] = {
        "bytes": (work / "book.zimpatch").stat().st_size,
        "seconds": round(time.monotonic() - started, 1),
        "entries": manifest["counts"],
    }
    one = make_folder(work / "one", clip, 1, "Page two")
    results["pack_one_video_as_given"] = run_pack(one, work / "one-as-given.zim")  # the floor: memory is flat
    results["encode_480p"] = run_pack(one, work / "one.zim", "--video", "480p") | {"clip_seconds": CLIP_SECONDS}
    results["encode_480p_again_from_cache"] = run_pack(one, work / "one.zim", "--video", "480p")
    print(json.dumps(results, ensure_ascii=False, indent=1))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "pack.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
