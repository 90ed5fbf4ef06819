"""Cost of scaling down one hand-in photo on the kit (issue 4): a 4000 × 3000 phone-like JPEG with EXIF through
edges/images.shrink at the default 1600 px edge. Prints the sizes and the best of 3 rounds.

    .venv/bin/python bench/photo_shrink.py [--edge 1600]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.photo_data makes the photo

from appliance.edges import images  # noqa: E402
from tests.photo_data import phone_jpeg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=1600)
    args = parser.parse_args()
    sent = phone_jpeg(4000, 3000, orientation=6)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "photo.jpg"
        source.write_bytes(sent)
        best, kept = float("inf"), b""
        for _ in range(3):
            out = io.BytesIO()
            started = time.perf_counter()
            images.shrink(source, out, args.edge, "photo.jpg")
            best = min(best, time.perf_counter() - started)
            kept = out.getvalue()
    print(f"sent {len(sent) / 1e6:.1f} MB, kept {len(kept) / 1e3:.0f} KB, best of 3: {best * 1000:.0f} ms")


if __name__ == "__main__":
    main()
