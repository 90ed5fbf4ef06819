"""What a child's phone keeps for the lesson to go home (issue 18): the pages of My space, of the child's open
lessons and quizzes, each article with its same-book images and style sheets, and the teacher's files, with their
sizes. The phone's service worker (web/static/sw.js) fetches this list; the teacher's lesson page shows one lesson's
share of it. No HTTP here.

Must not import web or cli.
"""

from __future__ import annotations

import html.parser
import posixpath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from appliance.content.zimfile import Redirect
from appliance.errors import TpkitError
from appliance.services.people import access as people

if TYPE_CHECKING:
    from appliance.content.library import Library
    from appliance.services.kit import Kit

# A page of the kit (My space, a lesson, a quiz) is made per child and request, so its size is not known before it
# is asked for: the bundle counts each at this size, about what a lesson page with ten items weighs uncompressed.
PAGE_BYTES_ESTIMATE = 12 * 1024
# The parent's view (issue 18 part C builds the page; this line is the seam between the parts).
FAMILY_PAGE = "/me/family"
CHILDREN_PAGE = "/me/phone"  # whose kept pages a family phone shows (web/phone_routes.phone_children)
RESOURCE_TAGS = {"img": "src", "script": "src", "link": "href", "source": "src"}


class _Resources(html.parser.HTMLParser):
    """The addresses an article's page loads by itself: pictures, style sheets, scripts (not the links it offers)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = RESOURCE_TAGS.get(tag)
        values = dict(attrs)
        if wanted and values.get(wanted) and (tag != "link" or "stylesheet" in (values.get("rel") or "")):
            self.found.append(str(values[wanted]))


def content_url(book: str, path: str) -> str:
    return f"/content/{quote(book)}/{quote(path)}"


def _article_entries(library: Library, book_name: str, path: str) -> list[tuple[str, int]]:
    """The article at `path` of the book and the same-book resources it loads, each (url, bytes); [] when the book
    or the article is gone (the lesson page says so when opened)."""
    asked = path
    try:
        zim = library.book(book_name).zim
        path = path or zim.main_path or ""
        found = zim.lookup(path)
        if isinstance(found, Redirect):
            path = found.target_path
            found = zim.lookup(path)
    except TpkitError:
        return []
    assert not isinstance(found, Redirect)  # lookup of a redirect's target is its content
    entries = [(content_url(book_name, path), len(found.data))]
    if asked != path:  # the lesson's page frames the address it names; the kit answers it with a redirect
        entries.insert(0, (content_url(book_name, asked), 0))
    if not found.mimetype.startswith("text/html"):
        return entries
    parser = _Resources()
    parser.feed(bytes(found.data).decode("utf-8", "replace"))
    base = f"/content/{book_name}/{path}"
    prefix = f"/content/{book_name}/"
    for link in dict.fromkeys(parser.found):
        target = urlsplit(urljoin(base, link))
        resource = posixpath.normpath(unquote(target.path))
        if target.scheme or target.netloc or not resource.startswith(prefix):
            continue  # another book or another site: not this lesson's to keep
        try:
            entry = zim.lookup(resource[len(prefix) :])
        except TpkitError:
            continue
        if not isinstance(entry, Redirect):
            entries.append((content_url(book_name, entry.path), len(entry.data)))
    return entries


def quiz_entries(kit: Kit, quiz_id: int) -> list[tuple[str, int]]:
    """A quiz's page, its questions to answer away from the kit (web/phone_routes.offline_quiz) and the questions'
    pictures (/files/quiz-picture/<id>, web/quiz_routes.picture)."""
    entries = [(f"/me/quizzes/{quiz_id}", PAGE_BYTES_ESTIMATE), (f"/me/quizzes/{quiz_id}/offline", PAGE_BYTES_ESTIMATE)]
    for question in kit.quizzes.questions(quiz_id):
        if isinstance(picture_id := question.get("picture"), int) and (row := kit.quizzes.picture(picture_id)):
            entries.append((f"/files/quiz-picture/{picture_id}", row["size_bytes"]))
    return entries


def lesson_entries(kit: Kit, lesson_id: int) -> list[tuple[str, int]]:
    """One lesson's share of a child's bundle: its page, each item's page and what the item needs, (url, bytes)."""
    library = kit.load_library()
    entries = [(f"/me/lessons/{lesson_id}", PAGE_BYTES_ESTIMATE)]
    for item in kit.lessons.items(lesson_id):
        if item["kind"] == "quiz":
            if not item["quiz_archived_at"]:
                entries.extend(quiz_entries(kit, item["quiz_id"]))
            continue
        entries.append((f"/me/lessons/{lesson_id}/items/{item['id']}", PAGE_BYTES_ESTIMATE))
        if item["kind"] == "upload":
            entries.append((f"/files/lesson/{item['id']}", item["size_bytes"]))
        else:
            entries.extend(_article_entries(library, item["book"], item["path"]))
    return entries


def lesson_bytes(kit: Kit, lesson_id: int) -> int:
    """About how many bytes one child's phone fetches to keep this lesson (the teacher's lesson page)."""
    return sum(size for _, size in dict(lesson_entries(kit, lesson_id)).items())


def child_bundle(kit: Kit, viewer: people.Viewer | None, shell: dict[str, int] | None = None) -> dict[str, Any]:
    """The signed-in (or pass-holding) child's bundle: who it is for, each address once with its bytes, the total;
    `shell` (url: bytes) is what every page needs, the style sheet and scripts, first."""
    student = people.require(viewer, "student")
    pages = ("/me", CHILDREN_PAGE, FAMILY_PAGE)
    entries: dict[str, int] = {**(shell or {}), **dict.fromkeys(pages, PAGE_BYTES_ESTIMATE)}
    for lesson in kit.lessons.for_student(student["id"]):
        entries.update(lesson_entries(kit, lesson["id"]))
    for quiz in kit.quizzes.for_student(student["id"]):
        entries.update(quiz_entries(kit, quiz["id"]))
    return {
        "student": {"id": student["id"], "name": student["display_name"]},
        "entries": [{"url": url, "size_bytes": size} for url, size in entries.items()],
        "total_bytes": sum(entries.values()),
    }
