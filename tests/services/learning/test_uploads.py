"""Upload checks on real files: the kind by first bytes, the name's ending, size limits, partial files swept."""

from __future__ import annotations

import io
import os
import time

import pytest

from appliance.errors import UploadRefusedError
from appliance.services.learning import uploads


@pytest.mark.parametrize(
    "head, kind",
    [
        (b"%PDF-1.7\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n\x00", "png"),
        (b"\xff\xd8\xff\xdb", "jpeg"),
        (b"GIF89a..", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypmp42", "mp4"),
        (b"\x00\x00\x00\x20ftypM4A ", "m4a"),
        (b"\x1a\x45\xdf\xa3\x01", "webm"),
        (b"ID3\x04\x00", "mp3"),
        (b"OggS\x00\x02", "ogg"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"MZ\x90\x00", None),
        (b"\x7fELF\x02", None),
        (b"#!/bin/sh\n", None),
    ],
)
def test_uploads_detect_kind_by_first_bytes(head, kind):
    assert uploads.detect(head) == kind


def test_uploads_store_writes_complete_file_and_digest(tmp_path):
    data = b"%PDF-1.4\n" + os.urandom(3 * uploads.CHUNK_BYTES // 2)
    stored = uploads.store(io.BytesIO(data), "Worksheet.PDF", tmp_path, uploads.LESSON_KINDS, len(data))
    assert (tmp_path / stored.name).read_bytes() == data and stored.size_bytes == len(data)
    assert stored.media_type == "application/pdf" and stored.name.endswith(".pdf")
    assert [p.name for p in tmp_path.iterdir()] == [stored.name]


@pytest.mark.parametrize(
    "data, name, code",
    [
        (b"", "a.jpg", "upload.empty"),
        (b"\xff\xd8\xff" + b"0" * 100, "a.jpg", "upload.too_large"),
        (b"%PDF-1.4", "a.pdf", "upload.type_not_allowed"),  # a PDF is not a photo
        (b"\x89PNG\r\n\x1a\n", "a.jpg", "upload.type_mismatch"),
    ],
)
def test_uploads_store_refuses_and_leaves_nothing(tmp_path, data, name, code):
    with pytest.raises(UploadRefusedError) as caught:
        uploads.store(io.BytesIO(data), name, tmp_path, uploads.PHOTO_KINDS, 50)
    assert caught.value.code == code and caught.value.fix
    assert list(tmp_path.iterdir()) == []


def test_uploads_sweep_partial_removes_only_old_partial_files(tmp_path):
    old, young, done = tmp_path / ".a.jpg.part", tmp_path / ".b.jpg.part", tmp_path / "c.jpg"
    for path in (old, young, done):
        path.write_bytes(b"x")
    hour_ago = time.time() - uploads.PARTIAL_MAX_AGE_S - 5
    os.utime(old, (hour_ago, hour_ago))
    assert uploads.sweep_partial(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.jpg.part", "c.jpg"]
