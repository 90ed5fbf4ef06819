"""Room for hand-ins: what one student may keep on the kit for one lesson and for all lessons, and the free space the
data disk keeps for the database whatever the students send (issue 14: a pupil stored 180 MB in three requests).

Must not import web or cli. Counted on what the kit keeps (photos scaled down), not on what was sent.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, BinaryIO

from appliance.edges.system import filesystem_use
from appliance.errors import HandinRoomError

if TYPE_CHECKING:
    from appliance.services.kit import Kit

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Room:
    """One student's hand-in files before a new hand-in, and the limits it must stay under."""

    lesson_used_bytes: int
    student_used_bytes: int
    lesson_quota_mb: int
    student_quota_mb: int

    def check(self, added_bytes: int = 0) -> None:
        """HandinRoomError when the lesson's or the student's quota is full, or `added_bytes` more would pass it."""
        if _over(self.lesson_used_bytes, added_bytes, self.lesson_quota_mb):
            raise HandinRoomError(
                f"This student's hand-ins for this lesson hold {self.lesson_used_bytes // MB} MB; with this one "
                f"they would pass handin_lesson_quota_mb ({self.lesson_quota_mb} MB).",
                code="upload.lesson_full",
                cause="many photos handed in again and again for the same homework",
                fix="Hand in with fewer photos, or ask your teacher; a technician can raise handin_lesson_quota_mb.",
                values={"quota_mb": self.lesson_quota_mb},
            )
        if _over(self.student_used_bytes, added_bytes, self.student_quota_mb):
            raise HandinRoomError(
                f"This student's hand-ins hold {self.student_used_bytes // MB} MB; with this one they would pass "
                f"handin_student_quota_mb ({self.student_quota_mb} MB).",
                code="upload.student_full",
                fix="Ask your teacher; a technician can raise handin_student_quota_mb.",
                values={"quota_mb": self.student_quota_mb},
            )


def _over(used_bytes: int, added_bytes: int, quota_mb: int) -> bool:
    return used_bytes >= quota_mb * MB or used_bytes + added_bytes > quota_mb * MB


def room(kit: Kit, student_id: int, lesson_id: int) -> Room:
    """What the student's hand-ins hold already, for `lesson_id` and for all lessons, with their quotas."""
    total, per_lesson = kit.lessons.handin_bytes(student_id)
    return Room(
        per_lesson.get(lesson_id, 0), total, kit.settings.handin_lesson_quota_mb, kit.settings.handin_student_quota_mb
    )


def check_free_space(kit: Kit, photos: list[tuple[BinaryIO, str]]) -> None:
    """HandinRoomError when writing the photos as sent would leave less than handin_free_reserve_mb free on the data
    disk (each is written whole before it is scaled down)."""
    use = filesystem_use(kit.paths.data_dir)
    if use is None:
        return
    sent = sum(_remaining_bytes(source) for source, _ in photos)
    reserve = kit.settings.handin_free_reserve_mb * MB
    if use["free_bytes"] - sent < reserve:
        raise HandinRoomError(
            f"The data disk has {use['free_bytes'] // MB} MB free; the hand-in ({sent // MB} MB as sent) would "
            f"leave less than handin_free_reserve_mb ({reserve // MB} MB).",
            code="upload.disk_full",
            cause="the SD card is nearly full (hand-ins, backups, books on the same card)",
            fix="Tell your teacher. A technician frees space (old backups, books) or moves the books to a USB disk.",
            status=507,
        )


def _remaining_bytes(source: BinaryIO) -> int:
    """Bytes from the current position to the end (a spooled upload can be measured without reading it)."""
    if not source.seekable():
        return 0
    here = source.tell()
    end = source.seek(0, 2)
    source.seek(here)
    return end - here
