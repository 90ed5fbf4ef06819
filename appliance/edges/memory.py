"""glibc's allocator, tuned for a threaded server on a 1 GB Pi. The only module that touches libc.

Must not import storage, content, services or web.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
        log.warning("could not cap malloc arenas (libc %r has no mallopt); memory per web thread may grow. "
                    "Set MALLOC_ARENA_MAX=%d in the service environment instead.", name, arenas)
        return False
