"""What `tpkit pack` asks of Debian's media tools, through edges.commands: a video's length, its poster frame, the
480p re-encode (cached by the source's digest), a PDF's pages as pictures and its text.

Must not import web or cli. A missing tool is an error naming the Debian package that installs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from appliance.edges import commands
from appliance.errors import PackError

PACKAGES = {"ffmpeg": "ffmpeg", "ffprobe": "ffmpeg", "pdftoppm": "poppler-utils", "pdftotext": "poppler-utils"}
PROBE_TIMEOUT_S = 60.0
POSTER_TIMEOUT_S = 120.0
PDF_TIMEOUT_S = 600.0  # a 200-page scanned textbook renders in about a minute on the county's PC
POSTER_AT = 0.10  # of the duration: past a title card, still the lesson's opening
# Pages rendered to 1200 px on their long side: sharp on a 360 px phone at 3x, about 100-200 KB a worksheet page.
PDF_PAGE_PX = 1200
# 480p for a classroom: H.264 main profile (every phone since ~2012 decodes it in hardware), 700 kb/s video and
# 64 kb/s AAC. Thirty phones on one lesson then need 30 x 0.76 = 23 Mb/s, what a Pi 4's access point keeps up in a
# crowded room (docs/textbook-units.md, "Video for the classroom"). Bump ENCODE_VERSION when these change: it is
# part of the cache key.
ENCODE_VERSION = "480p-1"
VIDEO_KBPS = 700
AUDIO_KBPS = 64
MAX_WIDTH, MAX_HEIGHT = 854, 480


@dataclasses.dataclass(frozen=True)
class Probe:
    """What ffprobe says of a media file."""

    seconds: float | None
    height: int | None


def _call(argv: Sequence[str], timeout_s: float, about: Path) -> commands.Finished:
    try:
        done = commands.call(argv, timeout_s=timeout_s)
    except FileNotFoundError as exc:
        raise missing_tool(argv[0]) from exc
    except TimeoutError as exc:
        raise _failed(argv[0], about, f"it did not finish within {timeout_s:g} s") from exc
    if done.returncode != 0:
        raise _failed(argv[0], about, done.stderr.strip()[-400:])
    return done


def missing_tool(tool: str) -> PackError:
    package = PACKAGES.get(tool, tool)
    return PackError(
        f"{tool} is not installed on this computer.",
        cause="tpkit pack converts videos and PDFs with Debian's media tools.",
        fix=f"Install it with: sudo apt-get install {package}, then run tpkit pack again.",
        code="pack.tool_missing",
    )


def _failed(tool: str, source: Path, why: str) -> PackError:
    return PackError(
        f"{tool} could not convert {source}: {why}",
        cause="The file is damaged or not what its name says (a renamed file, a download cut short).",
        fix="Open the file on a computer to check it; export or copy it again, then run tpkit pack again.",
        code="pack.tool_failed",
    )


def probe(path: Path) -> Probe:
    """The length in seconds and the height of the first video stream (None when there is none)."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json"]
    argv += ["-show_entries", "format=duration:stream=codec_type,height", str(path)]
    found = json.loads(_call(argv, PROBE_TIMEOUT_S, path).stdout or "{}")
    duration = found.get("format", {}).get("duration")
    heights = [s.get("height") for s in found.get("streams", []) if s.get("codec_type") == "video"]
    return Probe(float(duration) if duration else None, heights[0] if heights else None)


def poster(video: Path, seconds: float | None, out: Path) -> Path:
    """A JPEG of the frame at POSTER_AT of the video, at most MAX_WIDTH wide."""
    at = f"{(seconds or 0) * POSTER_AT:.3f}"
    argv = ["ffmpeg", "-v", "error", "-y", "-ss", at, "-i", str(video), "-frames:v", "1"]
    argv += ["-vf", f"scale='min({MAX_WIDTH},iw)':-2", "-q:v", "4", "-map_metadata", "-1", str(out)]
    _call(argv, POSTER_TIMEOUT_S, video)
    return out


def pdf_pages(pdf: Path, folder: Path) -> list[Path]:
    """The PDF's pages as JPEGs in `folder`, in page order."""
    folder.mkdir(parents=True, exist_ok=True)
    argv = ["pdftoppm", "-jpeg", "-jpegopt", "quality=80", "-scale-to", str(PDF_PAGE_PX), str(pdf), str(folder / "p")]
    _call(argv, PDF_TIMEOUT_S, pdf)
    return sorted(folder.glob("p-*.jpg"), key=lambda p: int(re.sub(r"\D", "", p.stem)))


def pdf_text(pdf: Path, out: Path) -> str:
    """The PDF's text (UTF-8), for the full-text index and the page's text block."""
    _call(["pdftotext", "-enc", "UTF-8", "-q", str(pdf), str(out)], PDF_TIMEOUT_S, pdf)
    return out.read_text(encoding="utf-8", errors="replace")


def cache_key(source: Path) -> str:
    """The source's sha256 (read in 1 MiB blocks) and the encode settings: a corrected folder re-encodes only
    videos whose bytes changed."""
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return f"{digest.hexdigest()}-{ENCODE_VERSION}"


def encode_480p(
    source: Path, cache: Path, seconds: float | None, on_progress: Callable[[float], None]
) -> tuple[Path, bool]:
    """The 480p MP4 of `source` from `cache`, made when not there yet; True when it was made now. `on_progress`
    gets the fraction done (0-1) as ffmpeg reports it."""
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{cache_key(source)}.mp4"
    if out.is_file():
        return out, False
    partial = out.with_suffix(".part.mp4")
    argv = ["ffmpeg", "-v", "error", "-nostats", "-y", "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?"]
    fit = f"scale='min({MAX_WIDTH},iw)':'min({MAX_HEIGHT},ih)':force_original_aspect_ratio=decrease"
    argv += ["-vf", f"{fit},scale=trunc(iw/2)*2:trunc(ih/2)*2", "-pix_fmt", "yuv420p"]
    argv += ["-c:v", "libx264", "-profile:v", "main", "-preset", "veryfast", "-b:v", f"{VIDEO_KBPS}k"]
    argv += ["-maxrate", f"{VIDEO_KBPS * 8 // 7}k", "-bufsize", f"{VIDEO_KBPS * 2}k"]
    argv += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-movflags", "+faststart", "-map_metadata", "-1"]
    argv += ["-progress", "pipe:1", str(partial)]

    def line(text: str) -> None:
        if text.startswith("out_time_us=") and seconds and text[12:].isdigit():
            on_progress(min(1.0, int(text[12:]) / 1e6 / seconds))

    try:
        done = commands.stream(argv, line)
    except FileNotFoundError as exc:
        raise missing_tool("ffmpeg") from exc
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise _failed("ffmpeg", source, done.stderr.strip()[-400:])
    os.replace(partial, out)
    return out, True
