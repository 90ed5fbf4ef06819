"""A teacher's bank of common comments (常用评语): a few defaults given on first use, in the teacher's language,
then what the teacher adds or removes. The grade form shows them as buttons that add one to the comment. No HTTP.

Must not import web or cli. Only staff (teachers, administrators) have a bank, each their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.errors import LessonError
from appliance.services.learning import lessons
from appliance.services.people import access as people

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

COMMENT_MAX_CHARS = 200  # a common comment is a sentence or two, a button on a phone
DEFAULT_KEYS = tuple(f"comments.default_{n}" for n in range(1, 6))  # message keys of the defaults


def comments(kit: Kit, viewer: Viewer, defaults: list[str]) -> list:
    """The viewer's common comments (id, text) in the order added; the first time, their bank starts with
    `defaults` (DEFAULT_KEYS in the viewer's language)."""
    viewer = people.require(viewer, *people.STAFF)
    if not kit.comment_bank.started(viewer["id"]):
        kit.comment_bank.start(viewer["id"], defaults)
    return kit.comment_bank.comments(viewer["id"])


def add(kit: Kit, viewer: Viewer, text: str) -> None:
    """Add a comment to the viewer's bank (once); LessonError when it is empty or longer than COMMENT_MAX_CHARS."""
    viewer = people.require(viewer, *people.STAFF)
    text = " ".join(text.split())
    if not text:
        raise LessonError(
            "The comment is empty.", fix="Type the comment, then add it.", code="lesson.text_missing", field="text"
        )
    if len(text) > COMMENT_MAX_CHARS:
        raise LessonError(
            f"The comment has {len(text)} characters; at most {COMMENT_MAX_CHARS} are kept.",
            fix="Shorten the comment.",
            code="lesson.text_too_long",
            field="text",
        )
    kit.comment_bank.add(viewer["id"], text)


def remove(kit: Kit, viewer: Viewer, comment_id: int) -> None:
    """Remove one of the viewer's own comments."""
    viewer = people.require(viewer, *people.STAFF)
    kit.comment_bank.remove(viewer["id"], comment_id)


SENTENCE_ENDS = "。！？；"  # after a Chinese sentence the next one follows without a space


def appended(comment: str, addition: str) -> str:
    """The comment with a common comment added after it (on its own when the comment was empty); LessonError
    when the comment would then be too long."""
    comment = comment.rstrip()
    joint = "" if not comment or comment[-1] in SENTENCE_ENDS else " "
    return lessons.checked_text(f"{comment}{joint}{addition}", "comment")
