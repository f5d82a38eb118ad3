"""Pages that are costly to build (a heatmap of 100,000 splices, the scoreboard over every outcome),
kept in memory until the data under them changes.

The key of a page names the database, the page and a *stamp* of the data it was built from
(:func:`splicelab.server.splice_views.data_stamp`: how many predictions and outcomes there are and
when the newest was written). Any upload changes the stamp, so a page is never served stale; pages
that were not asked for in a while are dropped first when the cache is over its size.

Building such a page allocates millions of small objects (a row, an entry, a cell per splice) that
all live until the page is done; Python's cyclic garbage collector would scan them again and again
(it halves the time of a 100,000-splice heatmap), so it is paused while a page is built.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager

MAX_BYTES = 96 * 1024**2

_paused = 0
_paused_lock = threading.Lock()


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (reference counting still frees memory); nested and
    concurrent uses are counted, the collector runs again when the last one ends."""
    global _paused
    with _paused_lock:
        if _paused == 0 and not gc.isenabled():
            was_off = True
        else:
            was_off = False
            _paused += 1
            gc.disable()
    try:
        yield
    finally:
        if not was_off:
            with _paused_lock:
                _paused -= 1
                if _paused == 0:
                    gc.enable()


class PageCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        """The page under ``key``; rendered (outside the lock) and kept when it is not there."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                self.hits += 1
                return page
        with paused_gc():
            page = render()
        with self._lock:
            if key not in self._pages and len(page) <= self.max_bytes:
                self._pages[key] = page
                self._size += len(page)
                while self._size > self.max_bytes:
                    _, old = self._pages.popitem(last=False)
                    self._size -= len(old)
        return page
