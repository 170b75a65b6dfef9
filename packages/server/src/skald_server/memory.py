"""Large blocks go back to the system when freed (glibc ``malloc``).

glibc serves a block of 128 KiB or more with its own ``mmap`` and unmaps it on ``free``, but
after the first such free it raises that threshold (up to 32 MiB) and serves later large
blocks from its heaps, one per thread, which keep what is freed. A server whose worker threads
each handled a few multi-MB bodies (uploads, batches of a large session) then stays at its
peak long after. Fixing the threshold (``mallopt(M_MMAP_THRESHOLD)``, which also turns the
raising off) keeps every block from ``MMAP_THRESHOLD`` up returned on ``free``: ``skald
serve`` calls ``return_large_blocks()`` at start. Elsewhere (musl, macOS) it does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("skald.server")

#: ``M_MMAP_THRESHOLD`` of glibc's ``mallopt``.
M_MMAP_THRESHOLD = -3
#: Blocks from this size up are mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 1024 * 1024


def return_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Whether the threshold was set (glibc only)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: musl has mallopt as a stub)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, threshold))
    if not done:
        log.warning("could not set malloc's mmap threshold: freed memory may stay resident")
    return done
