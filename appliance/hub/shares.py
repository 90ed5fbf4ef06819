"""Teachers' lessons shared with the county, the hub's side (docs/shared-lessons.md): a kit's `lesson` and
`lesson_file` reports stored as shares, their files assembled and checked, the states told back in every reply,
and the reviewers' accept and return.

Bodies are checked by protocol/shared_lesson.py, as the kits check them. Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

from appliance import strict_json
from appliance.errors import BadRequestError, HubError, ReportError
from appliance.hub.storage import shares as stored
from appliance.protocol import report_file, shared_lesson

KINDS = ("lesson", "lesson_file")
TOLD_FOR_S = 30 * 86400
# Parts a kit may have waiting for the rest of their files: a kit sends a lesson's parts one after the other, so two
# shares' worth is far more than one in flight, and a kit sending parts that never complete cannot fill the disk.
MAX_WAITING_BYTES = (
    2 * shared_lesson.MAX_FILES_BYTES
)  # a reply carries the states changed in the last 30 days (docs/shared-lessons.md §2)


def check_body(report: report_file.Report) -> None:
    """ReportError (400 report.malformed) unless a `lesson` or `lesson_file` body is as the contract says."""
    if report.kind == "lesson":
        shared_lesson.check_lesson(report.body)
    elif report.kind == "lesson_file":
        shared_lesson.check_part(report.body)


def stored_body(report: report_file.Report) -> dict[str, Any]:
    """The body the `reports` table keeps: a part's bytes are kept once, in share_parts, not twice."""
    if report.kind != "lesson_file":
        return report.body
    return {key: value for key, value in report.body.items() if key != "data"}


def _not_yours(share_id: str, kit_id: str) -> ReportError:
    return ReportError(
        f"The shared lesson {share_id} was shared by another kit, not by {kit_id}.",
        code="report.share_not_yours",
        cause="Two kits made the same share id (a copied SD card), or a kit tried to change another's lesson.",
        fix="Share the lesson again from this kit: it gets a new share id.",
    )


def receive(tx, report: report_file.Report, kit: dict[str, Any], now: float) -> None:
    """Store a `lesson` or `lesson_file` report of `kit` (its kits row) in the transaction that stores the report.
    ReportError report.share_not_yours when the share belongs to another kit (nothing is stored then)."""
    share_id = report.body["share_id"]
    stored.claim(tx, share_id, report.kit_id, now)
    if stored.owner(tx, share_id) != report.kit_id:
        raise _not_yours(share_id, report.kit_id)
    if report.kind == "lesson":
        _lesson(tx, shared_lesson.check_lesson(report.body), kit, now)
    else:
        _part(tx, report.kit_id, shared_lesson.check_part(report.body), now)


def _lesson(tx, share: shared_lesson.LessonShare, kit: dict[str, Any], now: float) -> None:
    if share.version <= stored.newest_version(tx, share.share_id):
        return  # sent again, or an older version arriving late: the newer one stands
    stored.drop_older(tx, share.share_id, share.version)
    position = {key: share.position.get(key) for key in stored.POSITION}
    row = {
        "share_id": share.share_id,
        "version": share.version,
        "kit_id": kit["kit_id"],
        "school": kit["school"],
        "district": kit["district"],
        "author": share.author,
        "title": share.title,
        "licence": share.licence,
        **position,
        "body": strict_json.dumps(share.body, ensure_ascii=False, sort_keys=True),
        "state": "receiving",
        "received_at": now,
        "changed_at": now,
    }
    stored.add_version(tx, row)
    _complete(tx, share.share_id, share.version, now)


def _too_many_parts(kit_id: str) -> ReportError:
    error = ReportError(
        f"Kit {kit_id} has more than {MAX_WAITING_BYTES // 2**20} MB of shared lessons' parts waiting for the rest of "
        "their files on the hub.",
        code="report.too_many_parts",
        cause="Parts were lost on the way, or the kit sent parts of lessons it never sent.",
        fix="Share the lessons again from the kit (a new version sends every part again); the waiting parts of the "
        "older versions are then dropped.",
    )
    error.status = 413
    return error


def _part(tx, kit_id: str, part: shared_lesson.LessonPart, now: float) -> None:
    if part.version < stored.newest_version(tx, part.share_id):
        return  # a part of a version a newer one replaced
    row = stored.version_row(tx, part.share_id, part.version)
    if row is not None and row["state"] != "receiving":
        return  # assembled (or found broken) already: a part sent again
    if stored.waiting_bytes(tx, kit_id) + len(part.data) > MAX_WAITING_BYTES:
        raise _too_many_parts(kit_id)
    stored.add_part(tx, part.share_id, part.version, part.file, part.part, part.parts, part.data)
    if row is not None:
        _complete(tx, part.share_id, part.version, now)


def _complete(tx, share_id: str, version: int, now: float) -> None:
    """Once every part of every file of the version is here: each file assembled, checked and kept, the parts
    dropped, and the version `submitted`, or `broken` with the reason."""
    row = stored.version_row(tx, share_id, version)
    files = shared_lesson.check_lesson(json.loads(row["body"])).files if row else ()
    held: dict[int, set[int]] = {}
    for part in stored.parts_held(tx, share_id, version):
        if part["file"] >= len(files) or part["parts"] != files[part["file"]].parts:
            return _broken(tx, share_id, version, now, f"第{part['file'] + 1}个文件的分段与分享时说的不一致")
        held.setdefault(part["file"], set()).add(part["part"])
    if any(len(held.get(index, ())) < meta.parts for index, meta in enumerate(files)):
        return None  # more parts to come
    for index, meta in enumerate(files):
        data = b"".join(stored.part_data(tx, share_id, version, index))
        if len(data) != meta.bytes or hashlib.sha256(data).hexdigest() != meta.sha256:
            return _broken(tx, share_id, version, now, f"第{index + 1}个文件“{meta.name}”收到的内容与分享时不一致")
        stored.add_file(tx, share_id, version, index, dataclasses.asdict(meta), data)
    stored.drop_parts(tx, share_id, version)
    stored.set_state(tx, share_id, version, "submitted", now)
    return None


def _broken(tx, share_id: str, version: int, now: float, why: str) -> None:
    stored.drop_parts(tx, share_id, version)
    stored.set_state(tx, share_id, version, "broken", now, f"{why}，请重新分享。")


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def told(db, kit_ids: list[str], now: float) -> dict[str, list[dict[str, Any]]]:
    """Per kit, the `shares` of its replies: its shares' states changed in the last 30 days, newest first, ≤ 50."""
    found: dict[str, list[dict[str, Any]]] = {kit_id: [] for kit_id in kit_ids}
    for row in stored.told(db, sorted(set(kit_ids)), now - TOLD_FOR_S, shared_lesson.MAX_STATES_IN_REPLY):
        state = {key: row[key] for key in ("share_id", "version", "state", "comment", "reviewer")}
        found[row["kit_id"]].append({**state, "at": _iso(row["changed_at"])})
    return found


def _not_reviewable(share_id: str, version: int) -> HubError:
    return HubError(
        f"Version {version} of the shared lesson {share_id} is not waiting for a review.",
        code="lessons.not_reviewable",
        status=409,
        cause="Someone reviewed it meanwhile, or its teacher sent a newer version.",
        fix="Open the shared lessons list again and review what it shows now.",
    )


def review(db, share_id: str, version: int, accept: bool, comment: str, reviewer: str, now: float) -> None:
    """Accept a submitted version, or return it with `comment` (required then) for its teacher to change."""
    comment = comment.strip()
    if not accept and not comment:
        raise BadRequestError(
            "A returned lesson needs a comment.",
            code="lessons.comment_required",
            cause="The teacher reads it to know what to change.",
            fix="Write what the teacher should change, then return the lesson.",
        )
    with db.transaction() as tx:
        state = "accepted" if accept else "returned"
        newest = stored.newest_version(tx, share_id) == version
        if not newest or not stored.set_state(tx, share_id, version, state, now, comment, reviewer, was="submitted"):
            raise _not_reviewable(share_id, version)


def listed(db, state: str) -> list[dict[str, Any]]:
    """The review list: the newest version of each share in `state` (every state but `receiving` for "")."""
    return stored.listed(db, (state,) if state in stored.TOLD else stored.TOLD)


def one(db, share_id: str) -> dict[str, Any] | None:
    """The newest version of a share, its body parsed (`content`), or None."""
    row = stored.one(db, share_id)
    return {**row, "content": json.loads(row["body"])} if row else None


def file_data(share: dict[str, Any], file: int, db) -> dict[str, Any] | None:
    """File `file` of the version `share` is (name, media_type, bytes, data), or None."""
    return stored.file_data(db, share["share_id"], share["version"], file)


def publishable(db) -> list[dict[str, Any]]:
    """What the county lessons book holds: per share, the newest accepted or published version, body parsed."""
    return [{**row, "content": json.loads(row["body"])} for row in stored.publishable(db)]


def mark_published(db, versions: list[tuple[str, int]], now: float) -> None:
    """The versions now in the county book become `published`; the older versions they replace are forgotten."""
    with db.transaction() as tx:
        for share_id, version in versions:
            row = stored.version_row(tx, share_id, version)
            if row is not None and row["state"] == "accepted":
                stored.set_state(tx, share_id, version, "published", now, "", row["reviewer"])
            stored.drop_replaced(tx, share_id, version)
