"""The manifest a patch (and a layer made from it) carries as its TpkitPatch metadata: its names and how to read it.

Must not import storage, edges, services or web, nor libzim's writer (content.zimwriter, content.zimdelta): a web
worker reads layers' manifests through this module and starts without the writer (tests/test_start_imports.py).
The manifest's fields are in docs/channels.md ("Patches").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.content.zimfile import ZimFile
from appliance.errors import ChannelError

MANIFEST_NAME = "TpkitPatch"  # the patch's metadata entry holding its manifest (JSON)
PATCH_FORMAT = 1
# libzim writes Counter itself from the entries' MIME types; copying it would make the writer refuse a duplicate.
DERIVED_METADATA = frozenset({"Counter"})
_FIELDS = (("base", dict), ("result", dict), ("removed_entries", list), ("removed_metadata", list), ("redirects", list))


def damaged(path: Path, problem: str) -> ChannelError:
    """The error for a patch that cannot be used (channel.patch_damaged), naming the file and what is wrong."""
    return ChannelError(
        f"The patch {path} cannot be used: {problem}.",
        code="channel.patch_damaged",
        cause="The download was cut or changed, or the file is not a tpkit patch.",
        fix=f"Delete {path} and fetch it again; if it persists, ask the county to publish again.",
    )


def read(patch: ZimFile) -> dict[str, Any]:
    """The manifest of an opened patch (or layer), checksum not checked; ChannelError (patch_damaged) if it has none."""
    try:
        manifest = json.loads(patch.metadata(MANIFEST_NAME) or b"")
        ok = manifest.get("format") == PATCH_FORMAT and all(isinstance(manifest.get(k), t) for k, t in _FIELDS)
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise damaged(patch.path, f"it has no valid {MANIFEST_NAME} manifest of format {PATCH_FORMAT}")
    return manifest
