"""Thumbnails of hand-in photos: a small JPEG for each photo (uploads/handin_thumbs/<the photo's name>.jpg), written
when the photo is stored and, for a photo stored before thumbnails existed, on its first request. Grading pages show
these instead of the photos (issue 16: ~1 MB a click with full photos).

Must not import web or cli. A thumbnail is derived: losing one costs a decode, never a child's work.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.edges import images
from appliance.errors import TpkitError

if TYPE_CHECKING:
    from appliance.services.kit import Kit

THUMB_EDGE_PX = 320  # twice the 160 CSS px it is shown at, for phones' and laptops' dense screens
MEDIA_TYPE = "image/jpeg"
FOLDER = "handin_thumbs"  # beside uploads/handins/, so that folder holds hand-ins' own files only

log = logging.getLogger(__name__)


def folder(kit: Kit) -> Path:
    return kit.paths.uploads_dir / FOLDER


def path_of(photo: Path, thumbs: Path) -> Path:
    """Where the thumbnail of the photo at `photo` is kept (whether it exists yet or not)."""
    return thumbs / f"{photo.name}.jpg"


def ensure(photo: Path, thumbs: Path) -> Path | None:
    """The thumbnail of the photo at `photo`, written first when missing (temp file, fsync, rename: never a torn
    one); None, with a warning logged, when the photo cannot be read as a picture or the kit is busy decoding."""
    target = path_of(photo, thumbs)
    if target.exists():
        return target
    thumbs.mkdir(parents=True, exist_ok=True)
    partial = thumbs / f".{uuid.uuid4().hex}.part"  # swept at start like the photos' partial files
    try:
        with partial.open("wb") as handle:
            images.thumbnail(photo, handle, THUMB_EDGE_PX, photo.name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except (TpkitError, OSError) as exc:
        log.warning("No thumbnail of %s (%s); the photo itself is shown instead.", photo, exc)
        return None
    finally:
        partial.unlink(missing_ok=True)
    return target


def remove(photo: Path, thumbs: Path) -> None:
    """Delete the thumbnail of a photo that is not kept after all (its hand-in was refused)."""
    path_of(photo, thumbs).unlink(missing_ok=True)
