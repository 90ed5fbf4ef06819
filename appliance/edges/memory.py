"""glibc's allocator, tuned for a threaded server on a 1 GB Pi. The only module that touches libc.

Must not import storage, content, services or web.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

# mallopt(3): M_ARENA_MAX. glibc gives each thread that allocates its own arena (up to 8 per core)
# and rarely returns their free memory; with libzim decompressing clusters in every web thread,
# that tripled a worker's anonymous memory in bench/ runs. Two arenas cost no measurable speed.
M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads started from now on; False (and one warning) when not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError, TypeError):
        log.warning(
            "could not cap malloc arenas (libc %r has no mallopt); memory per web thread may grow. "
            "Set MALLOC_ARENA_MAX=%d in the service environment instead.",
            name,
            arenas,
        )
        return False


def give_back() -> bool:
    """Return the allocator's free memory to the system (malloc_trim(3)) after a large, short-lived allocation such
    as a photo's decode; False when not glibc. glibc keeps freed heap memory for reuse: after four bomb decodes a
    worker stayed at 1.4 GB resident (issue 14)."""
    libc = _libc()
    try:
        return bool(libc.malloc_trim(0)) if libc is not None else False
    except AttributeError:  # not glibc (musl has no malloc_trim): the memory comes back as the process reuses it
        return False


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))  # find_library runs ldconfig once: cached
    except OSError:
        log.warning("could not load libc; memory freed after a photo's decode stays with the worker until reused.")
        return None
