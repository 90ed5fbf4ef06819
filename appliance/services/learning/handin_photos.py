"""Hand-in photos made small after the hand-in is answered (issue 16: forty children handing in at the bell waited
up to 13 s each while one worker decoded their 5 MP photos one after another).

A camera's JPEG is checked while the child waits (its header, and its segments complete to the end-of-image marker:
edges/images.check_jpeg, about 1 ms) and kept as sent in uploads/handin_waiting/ (0600, like
every upload). One thread per web process then scales it down, strips its metadata, writes its thumbnail and
records its final size and digest, at low CPU priority so that pages stay quick, and only once its web process
has had no new request for QUIET_S (`set_activity`; at most DEFER_MAX_S later): a class handing in at the bell
goes on to the quiz while forty full decodes (~130 ms each here) wait for a pause. A waiting photo is never served:
whoever asks for it first has it made then (`ready`). After a power cut or a restart the photos still waiting are
made when the web service starts again (`resume`). PNG, WebP and GIF pictures (screenshots, rare) are still shrunk
while the child waits (services/learning/uploads).

Must not import web or cli.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.errors import UploadBusyError, UploadRefusedError
from appliance.services.learning import thumbnails, uploads

if TYPE_CHECKING:
    from appliance.services.kit import Kit

FOLDER = "handin_waiting"
NICENESS = 10  # the photo thread's CPU priority below the web threads' (Linux: per thread)
BUSY_RETRY_S = 1.0  # another decode held this process's one-decode lock (edges/images): try that photo again later
QUIET_S = 0.5  # no new request in the web process for this long: the class has paused, photos are made
DEFER_MAX_S = 30.0  # a photo is made after this long even if requests never pause (a busy kit all lesson long)
QUIET_POLL_S = 0.1

log = logging.getLogger(__name__)

_jobs: queue.Queue[tuple[Kit, str]] = queue.Queue()
_starting = threading.Lock()
_thread: threading.Thread | None = None
_settled = threading.Condition()
_open = 0  # photos submitted in this process and not made (or given up) yet
_making = threading.Lock()  # one photo made at a time in this process: by the thread, or by a page asking first
_activity: Callable[[], int] | None = None  # requests this process has answered so far (web/app.py), or nothing


def set_activity(requests_so_far: Callable[[], int] | None) -> None:
    """Make photos only when `requests_so_far()` (a count that grows with each request to this process) has stood
    still for QUIET_S; None (the default: the command line, tests of the service alone): make them at once."""
    global _activity
    _activity = requests_so_far


class _Pause:
    """What the photo thread saw of its process's requests: their count, and since when it has not changed. Kept
    from one photo to the next, so that once the class has paused the photos follow each other without waiting."""

    def __init__(self) -> None:
        self.counted_by: Callable[[], int] | None = None
        self.seen: int | None = None
        self.still_since = 0.0

    def wait(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Return once the requests have stood still for QUIET_S (at once if they have already), or after
        DEFER_MAX_S; at once when nothing counts them (`set_activity(None)`)."""
        start = clock()
        while (count := _activity) is not None:
            now, latest = clock(), count()
            if latest != self.seen or count is not self.counted_by:  # another app's count (tests) is new too
                self.counted_by, self.seen, self.still_since = count, latest, now
            elif now - self.still_since >= QUIET_S or now - start >= DEFER_MAX_S:
                return
            time.sleep(QUIET_POLL_S)


def folder(kit: Kit) -> Path:
    return kit.paths.uploads_dir / FOLDER


def submit(kit: Kit, names: list[str]) -> None:
    """Have the waiting photos `names` made, in this order, by this process's photo thread."""
    global _open
    if not names:
        return
    with _settled:
        _open += len(names)
    for name in names:
        _jobs.put((kit, name))
    _start()


def resume(kit: Kit) -> int:
    """Submit every photo still waiting (left by a restart or a power cut); how many. Never raises: it runs in the
    web service's start-up, and a worker that fails to start stops the whole server (edges/forked_workers.py)."""
    found: list[tuple[float, str]] = []
    try:
        for path in folder(kit).iterdir() if folder(kit).is_dir() else []:
            if path.name.startswith("."):
                continue
            try:
                found.append((path.stat().st_mtime, path.name))
            except FileNotFoundError:  # made meanwhile by another web process's photo thread
                continue
    except OSError:
        log.exception("The waiting hand-in photos could not be listed; each is made when first asked for.")
    submit(kit, [name for _, name in sorted(found)])
    return len(found)


def waiting(kit: Kit) -> set[str]:
    """The names of the photos waiting to be made small now (a handful at most, for a few seconds after the bell)."""
    found = folder(kit)
    return {p.name for p in found.iterdir() if not p.name.startswith(".")} if found.is_dir() else set()


def wait_idle(timeout_s: float) -> bool:
    """Wait until every photo submitted in this process is made (or given up); False at the deadline."""
    with _settled:
        return _settled.wait_for(lambda: _open == 0, timeout=timeout_s)


def ready(kit: Kit, name: str) -> bool:
    """Make the photo `name` now if it still waits. True when it is in uploads/handins/, False when it could not be
    read after all (only its segments were checked when handed in; a full decode can still fail) or its hand-in is gone.
    UploadBusyError when another decode held this process for edges/images.DECODE_WAIT_S."""
    made, waiting = kit.paths.uploads_dir / "handins" / name, folder(kit) / name
    with _making:
        if not waiting.exists():
            return made.exists()
        try:
            size, digest = uploads.shrink_into(waiting, made, kit.settings.handin_photo_max_edge_px, name)
        except UploadBusyError:
            raise
        except UploadRefusedError as exc:
            if not waiting.exists():  # made (and taken away) by another web process's photo thread meanwhile
                return made.exists()
            log.warning("Hand-in photo %s could not be made small and is dropped: %s", name, exc)
            waiting.unlink(missing_ok=True)
            return False
        thumbs = thumbnails.folder(kit)
        thumbnails.ensure(made, thumbs)
        if not kit.lessons.photo_made(name, size, digest):  # its hand-in was deleted while it waited
            made.unlink(missing_ok=True)
            thumbnails.remove(made, thumbs)
        waiting.unlink(missing_ok=True)
        return made.exists()


def _start() -> None:
    global _thread
    with _starting:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="tpkit-handin-photos", daemon=True)
            _thread.start()


def _run() -> None:
    global _open
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except OSError:  # not allowed here: the photos are made at the web threads' priority
        log.info("The hand-in photo thread keeps its priority.")
    pause = _Pause()
    while True:
        kit, name = _jobs.get()
        pause.wait()
        try:
            ready(kit, name)
        except UploadBusyError:
            time.sleep(BUSY_RETRY_S)
            _jobs.put((kit, name))
            continue
        except Exception:  # a disk error or a closed database: logged, the photo waits for the next start
            log.exception("Hand-in photo %s was not made; it is tried again when the kit starts.", name)
        with _settled:
            _open -= 1
            _settled.notify_all()
