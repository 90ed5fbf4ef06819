"""Raspberry Pi Imager custom repository entry for one image (images/build-image.sh, step 60).

Usage: python3 imager_json.py IMAGE.img IMAGE.img.zst ARCH [BASE_URL] > NAME.rpi-imager.json
Standard library only: it runs with the build host's Python, outside tpkit's venv.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
from pathlib import Path

# Raspberry Pi Imager's device tags for 64-bit models this image boots on.
DEVICES = {"arm64": ["pi4-64bit", "pi3-64bit"], "amd64": []}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entry(image: Path, packed: Path, arch: str, base_url: str) -> dict:
    url = f"{base_url.rstrip('/')}/{packed.name}" if base_url else packed.name
    return {
        "name": f"tpkit ({arch})",
        "description": "tpkit teaching-point kit: a classroom library and learning space. Provision with kit.toml on the boot partition.",
        "url": url,
        "release_date": datetime.date.today().isoformat(),
        "extract_size": image.stat().st_size,
        "extract_sha256": sha256(image),
        "image_download_size": packed.stat().st_size,
        "image_download_sha256": sha256(packed),
        "devices": DEVICES[arch],
        "init_format": "none",
    }


if __name__ == "__main__":
    image, packed, arch = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    base = sys.argv[4] if len(sys.argv) > 4 else ""
    json.dump({"os_list": [entry(image, packed, arch, base)]}, sys.stdout, indent=2)
    sys.stdout.write("\n")
