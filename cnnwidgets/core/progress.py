"""Progress and cancellation of long engine calls, without the engines knowing who listens.

A caller (a widget's recompute, a script with its own progress bar) opens a scope around an
engine call::

    with progress_scope(lambda f: print(f"{f:.0%}"), cancel_event):
        cw.cam(m, img, method="scorecam")

and the engine calls :func:`report` after each internal batch. The scope's callback receives
the fraction of the whole call done (0..1), and :func:`report` raises :class:`Cancelled` once
the scope's event is set, so a cancelled call ends at its next batch. Engines hold their hooks
and the model's state in ``with`` blocks, so a cancelled call leaves the model as found, as
any other exception does.

Loops inside loops divide the range: ``with part(start, stop, total):`` around the items
``start..stop`` of ``total`` maps the reports made inside it onto that slice of the enclosing
range, so a SmoothGrad over Score-CAM (noisy copies, each with its mask batches) moves one
bar from 0 to 1 without going back.

The scope lives in a :mod:`contextvars` variable: it belongs to the thread that opened it, so
two widgets computing in two threads never see each other's reports or cancellations. Outside
any scope :func:`report` costs one variable lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import CNNWidgetsError

ProgressCallback = Callable[[float], None]


class Cancelled(CNNWidgetsError):
    """The call was cancelled through its progress scope (a newer request replaced it)."""


@dataclass(frozen=True)
class _Scope:
    callback: ProgressCallback | None
    # Every enclosing scope's event counts: an inner scope (a script's own progress bar inside
    # a widget's recompute) must not hide the outer cancellation.
    cancel: tuple[threading.Event, ...]
    lo: float = 0.0
    hi: float = 1.0

    def check(self) -> None:
        if any(e.is_set() for e in self.cancel):
            raise Cancelled("cancelled")


_SCOPE: ContextVar[_Scope | None] = ContextVar("cnnwidgets_progress_scope", default=None)


@contextmanager
def progress_scope(
    callback: ProgressCallback | None = None, cancel: threading.Event | None = None
) -> Iterator[None]:
    """Reports made by engines inside the block go to ``callback(fraction)``; setting
    ``cancel`` makes the next report raise :class:`Cancelled`."""
    outer = _SCOPE.get()
    events = (outer.cancel if outer else ()) + ((cancel,) if cancel is not None else ())
    token = _SCOPE.set(_Scope(callback, events))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def report(done: float, total: float) -> None:
    """``done`` of ``total`` units of the current (part of the) work are done.

    Raises :class:`Cancelled` when the scope was cancelled. Without a scope: nothing.
    """
    scope = _SCOPE.get()
    if scope is None:
        return
    scope.check()
    if scope.callback is not None and total > 0:
        f = min(max(done / total, 0.0), 1.0)
        scope.callback(scope.lo + (scope.hi - scope.lo) * f)


def check_cancelled() -> None:
    """Raise :class:`Cancelled` if the current scope was cancelled (for loops of unknown
    length, which cannot report a fraction)."""
    scope = _SCOPE.get()
    if scope is not None:
        scope.check()


@contextmanager
def part(start: float, stop: float, total: float) -> Iterator[None]:
    """Reports inside the block cover the slice ``start..stop`` of ``total`` of the current
    range (a batch of an outer loop whose inner work reports on its own)."""
    scope = _SCOPE.get()
    if scope is None:
        yield
        return
    scope.check()
    width = (scope.hi - scope.lo) / total if total > 0 else 0.0
    inner = _Scope(
        scope.callback,
        scope.cancel,
        scope.lo + width * max(start, 0),
        scope.lo + width * min(stop, total),
    )
    token = _SCOPE.set(inner)
    try:
        yield
    finally:
        _SCOPE.reset(token)
