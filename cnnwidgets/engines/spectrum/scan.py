"""Scanning a data set into a tracker: batches from any source, a stop event, a limit, and
progress (a tqdm bar outside notebooks, where a widget shows progress instead; reports to a
:func:`cnnwidgets.core.progress.progress_scope` too, which may also cancel the scan)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from ...core.progress import check_cancelled, report
from ...data.datasets import iter_batches, stream_length


def scan_iter(
    tracker,
    data: Any,
    batch_size: int = 32,
    *,
    stop: threading.Event | None = None,
    limit: int | None = None,
) -> Iterator[tuple[int, int | None]]:
    """Update ``tracker`` from a whole data source, yielding ``(images_seen_in_this_scan, total
    or None)`` after each batch; ends early when ``stop`` is set or after ``limit`` images.

    ``data``: see :func:`cnnwidgets.data.datasets.iter_batches` (a DataLoader, a folder, a
    Dataset, an iterable of images or of dicts with an "image" key, a 4-D tensor).
    """
    total = stream_length(data)
    if limit is not None:
        total = limit if total is None else min(total, limit)
    seen = 0
    for images, ids in iter_batches(data, batch_size):
        if stop is not None and stop.is_set():
            return
        if limit is not None and seen + len(images) > limit:
            images, ids = images[: limit - seen], (None if ids is None else ids[: limit - seen])
        if len(images) == 0:
            return
        tracker.update(images, ids)
        seen += len(images)
        # Under a progress scope (a script's bar, a recompute) too, not only through `stop`.
        if total:
            report(seen, total)
        else:
            check_cancelled()
        yield seen, total
        if limit is not None and seen >= limit:
            return


def scan(
    tracker,
    data: Any,
    batch_size: int = 32,
    *,
    progress: bool | str | Callable = "auto",
    stop: threading.Event | None = None,
    limit: int | None = None,
) -> None:
    """:func:`scan_iter` to the end. ``progress``: "auto" (a tqdm bar outside notebooks), True /
    False, or a callable ``(images_seen, total or None)`` called after each batch."""
    bar = None
    callback = progress if callable(progress) else None
    if progress is True or (progress == "auto" and not _in_notebook()):
        from tqdm import tqdm

        bar = tqdm(unit="img", desc=f"scanning {tracker.layer}")
    try:
        last = 0
        for seen, total in scan_iter(tracker, data, batch_size, stop=stop, limit=limit):
            if bar is not None:
                bar.total = total
                bar.update(seen - last)
            last = seen
            if callback is not None:
                callback(seen, total)
    finally:
        if bar is not None:
            bar.close()


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
