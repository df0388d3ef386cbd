"""A static picture beside each displayed widget's live view, kept current: what a notebook
reopened without its kernel, GitHub, nbviewer and HTML exports show in the widget's place."""

from __future__ import annotations

import base64
import contextlib
import html
import threading
import time
import weakref
from typing import Any

from ipywidgets import Widget

# Widgets displayed with a static picture, whose picture may need publishing at a cell's end.
_DISPLAYED: weakref.WeakSet = weakref.WeakSet()
_HOOKED = False


def _flush_static_pictures(*_args: Any) -> None:
    """IPython's post_run_cell hook: publish every changed static picture now, from the cell's
    own thread, so the update carries the cell's parent header (nbconvert's executor drops
    display updates that arrive after a cell, or with another cell's header)."""
    for w in list(_DISPLAYED):
        w._publish_static(force=False)


# In a notebook reopened without its kernel, JupyterLab writes "Error displaying widget: model
# not found" where the live view was (ipywidgets' renderer, the output's lm-Panel, gets the
# class jupyter-widgets only on such errors). Right before a static picture, that message says
# nothing the picture does not, so the picture's own style rule hides it. Trusted notebooks
# apply it (a notebook the user saved is trusted); elsewhere the rule is dropped and the
# message stays.
_STATIC_STYLE = (
    "<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.lm-Panel.jupyter-widgets)"
    ":has(+ .jp-OutputArea-child [data-cnnw-static]) { display: none; }</style>"
)


def _mime(data: bytes) -> str:
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


class StaticPicture:
    """Mixin of :class:`~cnnwidgets.widgets.base.CNNWidget`: displayed, a widget writes its
    live view and, in an output of its own, a picture of its ``view`` (and its parts', for
    dashboards) with a caption, updated at most once per ``static_interval`` seconds, at the
    end of background work and at the end of each cell."""

    #: minimum seconds between two updates of the static picture in the notebook
    static_interval = 1.0

    def _init_static_picture(self) -> None:
        self._static_handles: list = []
        self._static_lock = threading.Lock()
        # One update at a time: two threads publishing at once could send the older last.
        self._static_publishing = threading.Lock()
        self._static_timer: threading.Timer | None = None
        self._static_sent_at = float("-inf")
        self._static_version = 0
        self._static_published = 0
        self._static_watched: list = []

    def _close_static_picture(self) -> None:
        # Called from close(), also on a widget whose constructor failed: read with getattr.
        timer = getattr(self, "_static_timer", None)
        if timer is not None:
            timer.cancel()
            self._static_timer = None
        for w in getattr(self, "_static_watched", ()):
            with contextlib.suppress(ValueError):
                w.unobserve(self._static_changed, ["view", "caption", "status", "error"])
        self._static_watched = []
        _DISPLAYED.discard(self)

    def _ipython_display_(self, **kwargs: Any) -> None:
        """The live view, then a static picture of it (kept current) in an output of its own.

        A notebook reopened without its kernel, GitHub, nbviewer and HTML exports cannot run
        the view; they show the picture. While a live view is on the page, the front end hides
        the picture. The picture cannot share the view's output: updating that output makes
        JupyterLab build a new view (controls lose focus, a drag ends), once a second."""
        global _HOOKED
        from IPython.display import display

        shown = self.show()
        live = shown._repr_mimebundle_(**kwargs)
        data, metadata = live if isinstance(live, tuple) else (live, {})
        data = data or {"text/plain": repr(shown)}
        display(data, metadata=metadata or None, raw=True)
        handle = display(self._static_bundle(), raw=True, display_id=True)
        with self._static_lock:
            self._static_handles.append(handle)
            self._static_published = self._static_version
            self._static_sent_at = time.monotonic()
        if not self._static_watched:
            self._static_watched = [self, *self._parts_shown(shown)]
            for w in self._static_watched:
                w.observe(self._static_changed, ["view", "caption", "status", "error"])
        _DISPLAYED.add(self)
        if not _HOOKED:
            from IPython import get_ipython

            ip = get_ipython()
            if ip is not None:
                ip.events.register("post_run_cell", _flush_static_pictures)
                _HOOKED = True

    def _parts_shown(self, shown: Any) -> list[StaticPicture]:
        """The other cnnwidgets widgets inside what ``show()`` displays (a dashboard's parts)."""
        found: list[StaticPicture] = []
        stack, seen = [shown], set()
        while stack:
            w = stack.pop(0)
            if id(w) in seen:
                continue
            seen.add(id(w))
            if isinstance(w, StaticPicture) and w is not self:
                found.append(w)
            stack.extend(c for c in getattr(w, "children", ()) if isinstance(c, Widget))
        return found

    def _static_caption(self) -> str:
        """One line under the static picture: the widget and what its picture shows."""
        text = ""
        for name in ("caption", "status", "error"):
            value = getattr(self, name, "") if self.has_trait(name) else ""
            if value:
                text = str(value)
                break
        return f"{type(self).__name__}: {text}" if text else type(self).__name__

    def _static_bundle(self) -> dict:
        widgets = [self, *self._parts_shown(self.show())]
        pictures = [(bytes(w.view), w._static_caption()) for w in widgets]
        figures = []
        for data, caption in pictures:
            img = ""
            if data:
                src = f"data:{_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
                img = f'<img src="{src}" alt="{html.escape(caption)}" style="max-width:100%">'
            figures.append(
                f'<figure style="margin:0 0 6px 0">{img}'
                f'<figcaption style="font-size:0.9em;opacity:0.8">{html.escape(caption)}'
                "</figcaption></figure>"
            )
        bundle = {
            "text/plain": "\n".join(c for _, c in pictures),
            "text/html": f'<div class="cnnw-static" data-cnnw-static="{self._key}">'
            f"{_STATIC_STYLE}{''.join(figures)}</div>",
        }
        first = next((d for d, _ in pictures if d), b"")
        if first:
            bundle[_mime(first)] = base64.b64encode(first).decode("ascii")
        return bundle

    def _static_changed(self, _change: Any = None) -> None:
        with self._static_lock:
            self._static_version += 1
            if not self._static_handles or self._static_timer is not None:
                return  # not displayed, or an update is already due
            wait = self._static_sent_at + self.static_interval - time.monotonic()
            if wait > 0:
                self._static_timer = timer = threading.Timer(wait, self._static_due)
                timer.name = f"cnnwidgets-{type(self).__name__}-picture-{self._key[:8]}"
                timer.daemon = True
        if wait > 0:
            timer.start()
        else:
            self._publish_static(force=False)

    def _static_due(self) -> None:
        with self._static_lock:
            if self._static_timer is threading.current_thread():
                self._static_timer = None
        self._publish_static(force=False)

    def _publish_static(self, force: bool = True) -> None:
        """Update every displayed static picture (unless nothing changed, with ``force``
        False)."""
        with self._static_publishing:
            with self._static_lock:
                handles = list(self._static_handles)
                if not handles or (not force and self._static_published == self._static_version):
                    return
                version = self._static_version
                timer, self._static_timer = self._static_timer, None
            if timer is not None and timer is not threading.current_thread():
                timer.cancel()
            bundle = self._static_bundle()
            for handle in handles:
                handle.update(bundle, raw=True)
            with self._static_lock:
                self._static_published = version
                self._static_sent_at = time.monotonic()
