"""A packed book on a child's phone (Chromium at 360 px) through the kit: the index lists the unit, the lesson video
plays and seeks over Range requests, the worksheet shows its pages as pictures."""

from __future__ import annotations

import pytest

from tests.services.packing.pack_folders import packed_book
from tests.web.browsers import browser, images_loaded, phone, screenshot, scroll_width  # noqa: F401

# Seeking then playing: seeked fires, the frame at 2 s is there (HAVE_CURRENT_DATA or better) and time moves on.
SEEK_AND_PLAY = """async () => {
  const video = document.querySelector("video");
  if (video.readyState < 1) await new Promise(done => video.addEventListener("loadedmetadata", done, {once: true}));
  const seeked = new Promise(done => video.addEventListener("seeked", done, {once: true}));
  video.currentTime = 2;
  await seeked;
  const afterSeek = {time: video.currentTime, ready: video.readyState, duration: video.duration};
  video.muted = true;
  await video.play();
  await new Promise(done => setTimeout(done, 400));
  return {...afterSeek, playedTo: video.currentTime, error: video.error && video.error.code};
}"""

# Back to 1 s, paused: the caption of 0-2.5 s is the track's active cue (and on screen for the screenshot).
CAPTION_AT_1S = """async () => {
  const video = document.querySelector("video");
  video.pause();
  const seeked = new Promise(done => video.addEventListener("seeked", done, {once: true}));
  video.currentTime = 1;
  await seeked;
  const cues = video.textTracks[0].activeCues;
  return cues.length ? cues[0].text : null;
}"""


@pytest.fixture
def book(content_dir, tmp_path):  # the kit of tests/conftest.py serves the packed book instead of its test book
    return packed_book(content_dir, tmp_path)


def test_packed_book_on_a_phone_lists_the_unit_plays_seeks_and_shows_the_worksheet(browser, live):  # noqa: F811
    context = phone(browser, live, locale="zh-CN")
    page = context.new_page()
    page.goto("/content/maths/index.html")
    assert page.locator("h2").first.inner_text() == "第二单元"
    assert scroll_width(page) <= 360
    screenshot(page, "pack-index-zh.png")
    page.click("text=两位数加两位数（名师课堂）")
    page.wait_for_url("**/items/u2-l1-l1.html")
    played = page.evaluate(SEEK_AND_PLAY)
    assert played["error"] is None and played["duration"] == pytest.approx(3, abs=0.1)
    assert played["time"] == pytest.approx(2, abs=0.05) and played["ready"] >= 2
    assert played["playedTo"] > played["time"]
    assert page.evaluate("document.querySelector('video track').track.mode") == "showing"
    assert scroll_width(page) <= 360
    cue = page.evaluate(CAPTION_AT_1S)
    assert cue == "同学们好，今天学习两位数加两位数。"
    screenshot(page, "pack-item-zh.png")
    page.goto("/content/maths/items/u2-worksheet.html")
    for image in page.locator("img.page").all():
        image.scroll_into_view_if_needed()
    assert images_loaded(page, "img.page") == [848, 848]
    assert scroll_width(page) <= 360
    context.close()
