"""Pages that are costly to build (a heatmap of 100,000 splices, the scoreboard over every outcome),
kept in memory until the data under them changes.

The key of a page names the database, the page and a *stamp* of the data it was built from
(:func:`splicelab.server.splice_views.data_stamp`: how many predictions and outcomes there are and
when the newest was written). Any upload changes the stamp, so a page is never served stale; pages
that were not asked for in a while are dropped first when the cache is over its size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

MAX_BYTES = 96 * 1024**2


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
        page = render()
        with self._lock:
            if key not in self._pages and len(page) <= self.max_bytes:
                self._pages[key] = page
                self._size += len(page)
                while self._size > self.max_bytes:
                    _, old = self._pages.popitem(last=False)
                    self._size -= len(old)
        return page
