"""The answers kept by web.answer_cache (OPDS feeds, suggestions) never outlive the books they list: a book added,
removed or replaced shows at once (a real library on disk, a real uvicorn), though feeds are kept per second."""

from __future__ import annotations

import re

import anyio
import httpx

from appliance.errors import BookNotFoundError
from appliance.web.answer_cache import AnswerCache, make_answer
from tests.conftest import make_book

ENTRIES = "/catalog/v2/entries"


def _updated(feed: httpx.Response) -> str:
    return re.search(r"<updated>([^<]+)</updated>", feed.text).group(1)


def _same_second(client: httpx.Client, path: str, change) -> tuple[httpx.Response, httpx.Response]:
    """The feed at `path` just before and just after `change()` within one second (the second a kept feed is good
    for), so a cache that ignored the change would answer the old feed."""
    for _ in range(20):
        before = client.get(path)
        again = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
        assert again.status_code == 304  # kept and current
        change()
        after = client.get(path)
        if _updated(before) == _updated(after):
            return before, after
        change.undo()
    raise AssertionError("no two requests fell within one second")


class AddBook:
    def __init__(self, kit, content_dir) -> None:
        self.kit, self.content_dir = kit, content_dir

    def __call__(self) -> None:
        make_book(self.content_dir, "second_book", title="Second book", language="fra")
        self.kit.library.refresh()

    def undo(self) -> None:
        (self.content_dir / "second_book.zim").unlink()
        self.kit.library.refresh()


class RemoveBook(AddBook):
    def __call__(self) -> None:
        (self.content_dir / "test_book.zim").rename(self.content_dir / "test_book.away")
        self.kit.library.refresh()

    def undo(self) -> None:
        (self.content_dir / "test_book.away").rename(self.content_dir / "test_book.zim")
        self.kit.library.refresh()


def test_answer_cache_a_book_added_is_in_every_feed_at_once(kit, content_dir, client):
    for path in (ENTRIES, "/catalog/v2/partial_entries", "/catalog/v2/languages", "/catalog/root.xml"):
        before, after = _same_second(client, path, AddBook(kit, content_dir))
        shown = r"\bfra\b" if path.endswith("languages") else "Second book"
        assert not re.search(shown, before.text) and re.search(shown, after.text), path
        assert after.headers["ETag"] != before.headers["ETag"]
        stale = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
        assert stale.status_code == 200  # the old copy is not confirmed
        AddBook(kit, content_dir).undo()


def test_answer_cache_a_book_removed_leaves_every_feed_at_once(kit, content_dir, client):
    uuid = kit.library.book("test_book").uuid
    before, after = _same_second(client, ENTRIES, RemoveBook(kit, content_dir))
    assert uuid in before.text and "Test book" in before.text
    assert uuid not in after.text and "<entry>" not in after.text
    entry = client.get(f"/catalog/v2/entry/{uuid}")
    assert entry.status_code == 404


def test_answer_cache_a_book_replaced_under_its_name_shows_its_new_title(kit, content_dir, client):
    class Replace(AddBook):
        def __call__(self) -> None:
            self._swap_in(make_book(self.content_dir / "next", "test_book", title="Test book, second edition"))

        def undo(self) -> None:
            self._swap_in(make_book(self.content_dir / "next", "test_book"))

        def _swap_in(self, written) -> None:
            written.replace(self.content_dir / "test_book.zim")  # a new file, as a copy's rename gives
            self.kit.library.refresh()

    before, after = _same_second(client, ENTRIES, Replace(kit, content_dir))
    assert "second edition" not in before.text
    assert "Test book, second edition" in after.text


def test_answer_cache_answers_gzip_and_plain_as_the_compressing_middleware_did(client):
    plain = client.get(ENTRIES, headers={"Accept-Encoding": "identity"})
    zipped = client.get(ENTRIES, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '/gz"'
    assert plain.headers["Vary"] == zipped.headers["Vary"] == "Accept-Encoding"
    assert plain.headers["Cache-Control"] == zipped.headers["Cache-Control"] == "max-age=0, must-revalidate"
    assert plain.headers["Access-Control-Allow-Origin"] == "*"
    assert zipped.text == plain.text or _updated(zipped) != _updated(plain)


def test_answer_cache_is_bounded_in_feeds_and_bytes():
    cache = AnswerCache(max_items=3, max_bytes=10_000)
    for n in range(5):
        cache.put((f"/f{n}", b""), make_answer(1, "now", "text/plain", b"x" * 100, "tag"))
    assert [cache.get((f"/f{n}", b""), 1, "now") is not None for n in range(5)] == [False, False, True, True, True]
    cache.put(("/big", b""), make_answer(1, "now", "text/plain", b"y" * 9_950, "tag"))
    assert cache.get(("/big", b""), 1, "now") is not None
    assert cache.get(("/f4", b""), 1, "now") is None  # pushed out by bytes
    assert cache.get(("/big", b""), 2, "now") is None  # another library generation
    assert cache.get(("/big", b""), 1, "later") is None  # another second


def test_answer_cache_suggestions_follow_a_book_replaced_or_removed(kit, content_dir, client):
    path = "/suggest?content=test_book&term=wat"
    first = client.get(path)
    assert '"book_title":"Test book"' in first.text
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    written = make_book(content_dir / "next", "test_book", title="Test book, second edition")
    written.replace(content_dir / "test_book.zim")
    kit.library.refresh()
    second = client.get(path)
    assert '"book_title":"Test book, second edition"' in second.text
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    (content_dir / "test_book.zim").unlink()
    kit.library.refresh()
    assert client.get(path).status_code == 404


def test_search_pages_kept_follow_a_book_replaced_or_removed(kit, content_dir, client, live):
    path = "/search?content=test_book&pattern=rivers&format=xml"
    first = client.get(path)
    assert "Water cycle" in first.text and "Tides and rivers" not in first.text
    assert client.get(path).text == first.text  # kept
    articles = {"index": ("Welcome", "<p>Hello</p>"), "tides": ("Tides and rivers", "<p>Rivers meet the sea.</p>")}
    make_book(content_dir / "next", "test_book", articles=articles).replace(content_dir / "test_book.zim")
    kit.library.refresh()
    second = client.get(path)
    assert "Tides and rivers" in second.text and "Water cycle" not in second.text
    (content_dir / "test_book.zim").unlink()
    kit.library.refresh()
    assert client.get(path).status_code == 400  # no such book, as kiwix-serve says on /search
    assert (
        len(live.server.config.app.state.search_pages) == 0
    )  # the removed book's file is not held open by a kept page


def test_answer_cache_concurrent_misses_make_one_answer_and_a_failure_is_nobody_elses():
    cache = AnswerCache()
    made: list[str] = []

    async def make(label: str, fail: bool = False):
        made.append(label)
        await anyio.sleep(0.05)
        if fail:
            raise BookNotFoundError("gone", fix="none")
        return make_answer(1, "", "text/plain", label.encode(), label)

    async def main() -> dict[str, object]:
        got: dict[str, object] = {}

        async def ask(label: str, fail: bool = False) -> None:
            try:
                got[label] = (await cache.made_once(("k",), lambda: make(label, fail))).body
            except BookNotFoundError as exc:
                got[label] = exc

        async with anyio.create_task_group() as group:
            group.start_soon(ask, "first")
            await anyio.sleep(0.01)
            for label in ("second", "third"):
                group.start_soon(ask, label)
        assert made == ["first"] and got == {"first": b"first", "second": b"first", "third": b"first"}
        made.clear()
        got.clear()
        async with anyio.create_task_group() as group:
            group.start_soon(ask, "failing", True)
            await anyio.sleep(0.01)
            group.start_soon(ask, "waiting")
        assert isinstance(got["failing"], BookNotFoundError) and got["waiting"] == b"waiting"
        assert made == ["failing", "waiting"]
        return got

    anyio.run(main)
