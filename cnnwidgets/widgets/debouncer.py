"""A debounced call: the latest of a burst of calls runs once, off the kernel's thread, and a
newer call cancels the running one at its engine's next progress report."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.progress import Cancelled, progress_scope


class Debouncer:
    """Runs the latest of a burst of calls once the calls pause for ``delay`` seconds.

    The call runs in a thread that lives only while work is pending or running (at most one
    per debouncer), so a debounced recompute never blocks the kernel. Each call runs inside a
    :func:`~cnnwidgets.core.progress.progress_scope`: what the engines report goes to
    ``on_progress(fraction)``, and a newer call cancels the running one, which ends at its
    engine's next report (``Cancelled``, swallowed here: it is no error) instead of finishing
    stale work; the newest arguments run next. ``on_busy(True)`` is called when work becomes
    pending and ``on_busy(False)`` when none is left, in that order, under the debouncer's lock.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        delay: float,
        name: str = "debounce",
        *,
        on_progress: Callable[[float], None] | None = None,
        on_busy: Callable[[bool], None] | None = None,
    ):
        self._fn, self.delay, self._name = fn, delay, name
        self._on_progress, self._on_busy = on_progress, on_busy
        self._cond = threading.Condition()
        self._args: tuple | None = None
        self._due = 0.0
        self._thread: threading.Thread | None = None
        self._cancelled = False
        #: the cancel event of the call that runs now (None between calls)
        self._running: threading.Event | None = None
        #: calls that ran to their end (with or without an error), and calls a newer one cancelled
        self.completed = 0
        self.cancelled = 0

    def __call__(self, *args: Any) -> None:
        with self._cond:
            if self._cancelled:
                return
            self._args, self._due = args, time.monotonic() + self.delay
            # Stale now: stop it at its next batch (unless the running call itself asks for
            # another run, e.g. by setting a control: that one runs after it).
            if self._running is not None and threading.current_thread() is not self._thread:
                self._running.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                # Started first (it waits for this lock): a failing on_busy must not leave a
                # thread that is recorded but never runs, which would swallow every later call.
                self._thread.start()
                self._busy(True)
            self._cond.notify_all()

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._thread is not None

    def _busy(self, flag: bool) -> None:
        if self._on_busy is not None:
            self._on_busy(flag)

    def _loop(self) -> None:
        me = threading.current_thread()
        try:
            while self._next():
                pass
        finally:
            with self._cond:
                # Only after an unexpected exception from fn (flush() must not wait forever):
                # after a normal end, a newer thread may already run and own `_running`.
                if self._thread is me:
                    self._thread, self._running = None, None
                    self._busy(False)
                    self._cond.notify_all()

    def _next(self) -> bool:
        """Wait for the due time and run the latest call; False when no work is left."""
        with self._cond:
            while True:
                if self._cancelled or self._args is None:
                    self._thread = None
                    self._busy(False)
                    self._cond.notify_all()
                    return False
                wait = self._due - time.monotonic()
                if wait <= 0:
                    break
                self._cond.wait(wait)
            args, self._args = self._args, None
            cancel = self._running = threading.Event()
        try:
            with progress_scope(self._on_progress, cancel):
                self._fn(*args)
        except Cancelled:
            self.cancelled += 1
        else:
            self.completed += 1
        finally:
            with self._cond:
                self._running = None
        return True

    def flush(self, timeout: float | None = None) -> None:
        """Run pending work now and wait until it (and anything queued meanwhile) is done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                self._due = time.monotonic()  # work queued meanwhile runs at once too
                self._cond.notify_all()
                thread = self._thread
            if thread is None or thread is threading.current_thread():
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            thread.join(0.05)

    def abort(self) -> None:
        """Drop pending work and cancel running work (at its next batch); later calls run."""
        with self._cond:
            self._args = None
            if self._running is not None:
                self._running.set()
            self._cond.notify_all()

    def cancel(self) -> None:
        """Drop pending work, cancel running work and wait for it to end; later calls do
        nothing."""
        with self._cond:
            self._cancelled, self._args = True, None
            if self._running is not None:
                self._running.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
