"""Hand-in photos made small after the hand-in is answered (issue 16: forty children handing in at the bell waited
up to 13 s each while one worker decoded their 5 MP photos one after another).

A camera's JPEG is checked while the child waits (its header, and its data read whole at 1/8 scale:
edges/images.check_jpeg, about a tenth of a full decode) and kept as sent in uploads/handin_waiting/ (0600, like
every upload). One thread per web process then scales it down, strips its metadata, writes its thumbnail and
records its final size and digest, at low CPU priority so that pages stay quick. A waiting photo is never served:
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
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.errors import UploadBusyError, UploadRefusedError
from appliance.services.learning import thumbnails, uploads

if TYPE_CHECKING:
    from appliance.services.kit import Kit

FOLDER = "handin_waiting"
NICENESS = 10  # the photo thread's CPU priority below the web threads' (Linux: per thread)
BUSY_RETRY_S = 1.0  # another decode held this process's one-decode lock (edges/images): try that photo again later

log = logging.getLogger(__name__)

_jobs: queue.Queue[tuple[Kit, str]] = queue.Queue()
_starting = threading.Lock()
_thread: threading.Thread | None = None
_settled = threading.Condition()
_open = 0  # photos submitted in this process and not made (or given up) yet
_making = threading.Lock()  # one photo made at a time in this process: by the thread, or by a page asking first


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
    web service's start-up, and a worker that fails to start stops the whole server (uvicorn's supervisor)."""
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
    read after all (the data was checked whole at 1/8 scale; a full decode can still fail) or its hand-in is gone.
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
    while True:
        kit, name = _jobs.get()
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
