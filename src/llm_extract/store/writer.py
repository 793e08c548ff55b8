"""The run's writer: one transaction per document, holding the file only while documents come fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from llm_extract.schemas import Extraction
from llm_extract.store import dbfile
from llm_extract.store.database import Store


class Writer:
    """Saves a run's documents, holding the database file only while documents come fast.

    While a process has the file open for writing no other can read it, and each close costs a
    checkpoint that grows with the database (from milliseconds to most of a second at corpus scale):
    closing after every document would multiply a fast run's time. So the file is let go after
    each document that took long to extract (a model: seconds to minutes, so readers never wait
    for one), and kept while documents take milliseconds (the rules backend) or while the next
    document is already waiting to be saved (many in flight: each took long, but they arrive
    fast; opening and closing took most of a save), but for at most HOLD seconds at a time, then
    released for PAUSE so that waiting readers get their turn.

    The checkpoint grows with the database (DuckDB rewrites the documents table's last row group,
    texts included: ~0.65 s at 10,000 reports), so the file is held at least CLOSE_SHARE times
    as long as the last close took, keeping checkpoints to a bounded share of a long run's time,
    but never longer than MAX_HOLD, so a reader still gets in well within dbfile.READ_WAIT.
    """

    FAST = 0.5  # seconds of extraction below which the next document is expected soon
    HOLD = 2.0  # well under dbfile.READ_WAIT: a reader waits at most about this long
    CLOSE_SHARE = 10  # hold >= 10x the last close: checkpoints take at most ~1/11 of the time
    MAX_HOLD = dbfile.READ_WAIT / 2
    PAUSE = 3 * dbfile.RETRY_EVERY  # a waiting reader retries within this

    def __init__(self, path: Path, wait: float | None = None, on_wait: Callable[[str], None] | None = None) -> None:
        self.path, self.wait, self.on_wait = path, wait, on_wait
        self.store: Store | None = None
        self.opened = 0.0
        self.last_close = 0.0  # seconds the last close (its checkpoint) took

    def save(self, extraction: Extraction, next_ready: bool = False) -> None:
        """Save one document; `next_ready`: the caller has the next document ready to save now."""
        if self.store is None:
            self.store = Store(self.path, wait=self.wait, on_wait=self.on_wait)
            self.opened = time.monotonic()
        self.store.save(extraction)
        hold = min(max(self.HOLD, self.CLOSE_SHARE * self.last_close), self.MAX_HOLD)
        held_long = time.monotonic() - self.opened >= hold
        if (extraction.seconds >= self.FAST and not next_ready) or held_long:
            self.close()
            if held_long:
                time.sleep(self.PAUSE)

    def close(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            started = time.monotonic()
            store.close()
            self.last_close = time.monotonic() - started

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
