"""Folders for `tpkit pack` tests, made by the tests: a 3-second video (ffmpeg's testsrc and sine), its captions, a
two-page PDF written by hand, a picture and a manifest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.content.icons import badge

MANIFEST = """\
name = "rjb-math-3a-county"
title = "三年级上册数学 县名师课堂"
language = "zho"
licence = "CC-BY-4.0"
creator = "县教研室"
description = "三年级上册数学的名师课堂和练习"
date = 2026-09-01
edition = "rjb"
grade = 3
volume = 1
subject = "math"

[[item]]
file = "u2/l1.{video_ext}"
title = "两位数加两位数（名师课堂）"
unit = 2
lesson = 1

[[item]]
file = "u2/worksheet.pdf"
title = "第二单元练习"
unit = 2

[[item]]
file = "u3/dot.png"
title = "数一数"
unit = 3
lesson = 2
"""
CAPTIONS = "WEBVTT\n\n00:00.000 --> 00:02.500\n同学们好，今天学习两位数加两位数。\n"
VIDEO_SECONDS = 3


def require_tools() -> None:
    for tool in ("ffmpeg", "ffprobe", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: apt-get install ffmpeg poppler-utils (./build.sh test installs them)")


def make_video(path: Path, *, seconds: int = VIDEO_SECONDS, size: str = "1280x720") -> Path:
    """A test pattern with a tone: H.264/AAC in MP4, or VP9/Opus when `path` ends in .webm."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codecs = ["-c:v", "libvpx-vp9", "-b:v", "300k", "-c:a", "libopus"] if path.suffix == ".webm" else []
    codecs = codecs or ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}"]
        + ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", *codecs, "-shortest", str(path)],
        check=True,
    )
    return path


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A PDF with one line of (ASCII) text per page, its cross-reference table counted right."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for number, text in enumerate(pages):
        stream = f"BT /F1 28 Tf 72 700 Td ({text}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * number} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)
    return path


def make_folder(folder: Path, *, video_ext: str = "mp4") -> Path:
    """A county's folder: unit 2 lesson 1's video with captions beside it, unit 2's worksheet, a unit 3 picture."""
    require_tools()
    make_video(folder / "u2" / f"l1.{video_ext}")
    (folder / "u2" / "l1.vtt").write_text(CAPTIONS, encoding="utf-8")
    make_pdf(folder / "u2" / "worksheet.pdf", ["Worksheet page one: addition", "Page two: subtraction carries"])
    (folder / "u3").mkdir(parents=True, exist_ok=True)
    (folder / "u3" / "dot.png").write_bytes(badge(64, (250, 250, 250), (200, 40, 40)))
    (folder / "pack.toml").write_text(MANIFEST.format(video_ext=video_ext), encoding="utf-8")
    return folder


def packed_book(content_dir: Path, work: Path, *, video_ext: str = "mp4") -> Path:
    """make_folder's folder packed into `content_dir`/maths.zim, served as /content/maths/ (web tests' `book`)."""
    import datetime

    from appliance.services.packing.pack import pack

    folder = make_folder(work / "county-folder", video_ext=video_ext)
    return pack(folder, content_dir / "maths.zim", today=datetime.date(2026, 12, 7)).out
