"""What every cnnwidgets widget shares: the bundle, the `view`/`error` traits, error reporting,
debounced recomputes (:mod:`.debouncer`), image uploads, views in the page, a static picture
(:mod:`.static_picture`) and a background worker for long work.

How to build a widget on it
---------------------------
A widget is an :class:`anywidget.AnyWidget` whose state lives in traitlets (``.tag(sync=True)``)
and whose front end is one bundle ``js/src/widgets/<name>.ts`` built into
``cnnwidgets/static/<name>.js``::

    class MyViewer(CNNWidget):
        _esm = bundle("my_viewer")          # cnnwidgets/static/my_viewer.js
        layer = Unicode().tag(sync=True)    # one trait per control, named as its data-testid

        def __init__(self, model, image):
            super().__init__(layer=model.layers[0])
            self.model = model
            self.image = image
            self._recompute = self.debounced(self._compute)   # expensive: debounced
            self.observe(lambda _: self._recompute(), "layer")
            self.attempt(self._compute)     # synchronous, so `view` is set at construction

        def _compute(self):
            maps = cw.feature_maps(self.model, self.image, self.layer)   # an engine call
            self.view = to_png(...)                                       # a render helper

- ``view`` (Bytes): PNG/JPEG bytes of the main picture (the front end shows it with
  ``data-testid="view"``). Set it in ``__init__`` so a saved notebook shows a picture.
- ``error`` (Unicode): "" or a readable message, shown as a banner. Never let an engine
  exception escape a trait observer (it would only reach the kernel log): wrap engine calls in
  :meth:`attempt`, which turns an exception into ``error`` and clears ``error`` on success.
- :meth:`debounced` wraps an expensive recompute: a burst of control changes (a dragged
  slider) runs it once, after ``debounce_s`` of quiet, in a short-lived thread, so the kernel
  keeps receiving messages (Stop, other sliders) meanwhile. Cheap redraws from cached results
  (alpha re-blends a cached map) stay synchronous. :meth:`flush` runs pending work now and waits
  for it (scripts and tests). ``busy`` is True while a recompute is pending or runs (the front
  end dims the picture meanwhile).
- A recompute runs inside a :func:`cnnwidgets.core.progress.progress_scope`: engines report
  after each internal batch (Score-CAM's masks, SmoothGrad's samples, IG's path points), which
  reaches ``busy_progress`` (0..1, about 10 updates a second) and the frame's progress bar,
  with ``busy_label`` ("computing method Score-CAM…", from :meth:`_busy_text`, which a widget
  may override). A newer control change cancels the running recompute at its next batch (the
  engine raises ``Cancelled``: no error, no picture) and the newest values run next.
- Views: the front end announces each view (``view_attached`` / ``view_detached``). When the
  last one has gone for ``orphan_grace_s`` (the cell ran again, the output was cleared), no one
  can see the work or reach its Stop button: :meth:`_abandoned` cancels debounced work and a
  background widget stops. A ``ping`` gets a ``pong``: the front end's check that a kernel is
  still behind the view.
- Displayed in a notebook, a widget writes two outputs: the live view, and a static picture of
  its ``view`` (and its parts', for dashboards) with a caption, updated at most once per
  ``static_interval`` seconds, at the end of background work and at the end of each cell. A
  notebook reopened without its kernel, GitHub, nbviewer and HTML exports show that picture;
  a live view hides it (see :meth:`_ipython_display_`).
- Actions from the front end (buttons, uploads) arrive as custom messages
  ``{"type": name, ...}`` with optional binary buffers and call ``_action_<name>(content,
  buffers)`` under :meth:`attempt`. Image widgets implement ``_use_image(image)`` (called by
  the public :meth:`set_image` under :meth:`attempt`); the shared
  ``upload`` action loads the bytes with :func:`cnnwidgets.load_image` (a non-image sets
  ``error``) and passes the picture on.
- ``show()`` returns what to display (the widget itself; composite widgets return a box and
  display as that box).

Long work: :class:`BackgroundWidget`
-----------------------------------
Subclasses implement :meth:`BackgroundWidget._work`, a generator that does one step per
iteration and yields a *publisher*: a zero-argument callable that pushes the current state
into traits (render the frame, copy tensors to the CPU, set ``view``, ``progress``,
``status``). The worker calls a publisher only when a frame is due (``frame_interval``, about
10 per second), always calls the last one (the final frame), and checks the Stop event between
steps, so Stop is honoured within one step. Engines that report through a callback instead of
an iterator call :meth:`BackgroundWidget.offer` from the callback and watch the ``stop`` event
they receive. ``start()`` (returns at once), ``stop()`` (sets the event and joins the thread),
``run()`` (blocking; raises :class:`WidgetError` on failure unless ``raise_error=False``) and
``close()`` leave no thread behind, whether the work finished, was stopped or failed; nor
does a widget whose views have all gone (its worker thread is named
``cnnwidgets-<Class>-worker-<first 8 characters of _static_key>``). One
thread per widget writes its traits; ``running`` is True while it works, ``progress`` (0..1)
and ``status`` (one line) feed the progress bar, and ``_finished(stopped)`` runs in the worker
after the final frame (a last picture, a summary). The front end's Start / Stop buttons send
the ``start`` / ``stop`` actions.

Front end
---------
``js/src/widgets/<name>.ts`` exports ``default { render }``; ``render({model, el})`` builds
the view from ``js/src/components`` (``frame`` with the error banner, busy dimming and the
recompute's progress bar, which also announces the view, watches the connection to the
kernel (a banner and greyed controls once it is gone) and hides the static pictures,
``select`` bound to ``<trait>`` and ``<trait>_options``, ``slider`` (stops ``keydown``
propagation), ``imageView`` for Bytes traits, ``progressBar``, ``startStop``, ``uploadButton``
and ``dropZone``, ``gridClick``) and returns ``() => d.dispose()``, which removes every
listener. ``npm run build`` in ``js/`` writes the bundles; commit them with the source.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anywidget
from ipywidgets import Widget
from traitlets import Bool, Bytes, Float, Instance, Unicode, validate

from ..core.progress import Cancelled
from .debouncer import Debouncer
from .static_picture import StaticPicture

STATIC = Path(__file__).resolve().parent.parent / "static"

Publisher = Callable[[], None]


def bundle(name: str) -> Path:
    """The built front-end module of a widget: ``cnnwidgets/static/<name>.js``."""
    return STATIC / f"{name}.js"


def readable(exc: BaseException) -> str:
    """An exception as one line a user can act on (its type name and message)."""
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    msg = str(msg).strip()
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def close_tree(*roots: Any) -> None:
    """Close ``roots`` and every widget they hold through their traits: a bqplot Figure's
    marks, axes and scales (and its own scale_x/scale_y), a box's children, layouts.

    ``Widget.close()`` closes one comm only, and ipywidgets keeps every open widget in its
    registry, so the parts of a chart stay alive for the whole session unless closed one by
    one. cnnwidgets widgets met on the way are left to their own ``close()`` (a box that
    shows a widget does not own it).
    """
    seen: set[int] = set()
    stack = [r for r in roots if r is not None]
    while stack:
        w = stack.pop()
        if id(w) in seen or not isinstance(w, Widget) or isinstance(w, CNNWidget):
            continue
        seen.add(id(w))
        for name in w.trait_names():
            value = getattr(w, name, None)
            if isinstance(value, Widget):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, Widget))
            elif isinstance(value, dict):
                stack.extend(v for v in value.values() if isinstance(v, Widget))
        w.close()


class WidgetError(RuntimeError):
    """The background work of a widget failed (raised by a blocking ``run()``)."""


# Synced traits that widgets write for the front end (pictures, text, state): never controls,
# so never named in a busy label. A subclass adds its own in ``_outputs``.
OUTPUT_TRAITS = frozenset(
    {
        "view",
        "error",
        "busy",
        "busy_progress",
        "busy_label",
        "running",
        "progress",
        "status",
        "photo",
        "detail",
        "caption",
        "grid_layout",
        "weights",
        "predictions",
        "images_seen",
        "epoch",
        "step",
        "loss",
        "accuracy",
        "val_accuracy",
        "input_view",
        "cell",
        "equation",
        "formula",
        "formula_latex",
        "shapes",
        "values",
    }
)
# Traits derived from a control (its options, range, parameter specs, help), not controls.
DERIVED_SUFFIXES = ("_options", "_max", "_min", "_params", "_help")


class CNNWidget(StaticPicture, anywidget.AnyWidget):
    """Base of every cnnwidgets widget (see the module docstring for how to build on it)."""

    _css = STATIC / "widgets.css"

    view = Bytes(b"", help="PNG/JPEG bytes of the main picture").tag(sync=True)
    error = Unicode("", help='"" or a readable message about the last failure').tag(sync=True)
    busy = Bool(False, help="True while a debounced recompute is pending or runs").tag(sync=True)
    busy_progress = Float(0.0, help="fraction of the running recompute done, 0..1").tag(sync=True)
    busy_label = Unicode("", help="what the running recompute computes").tag(sync=True)
    # Names this widget's static pictures in the page: a live view hides them (the front end
    # adds a style rule keyed by it), a page without the kernel shows them.
    _static_key = Unicode("").tag(sync=True)

    #: quiet time before a debounced recompute runs, in seconds
    debounce_s = 0.15
    #: minimum seconds between two `busy_progress` updates (about 10 per second)
    progress_interval = 0.1
    #: seconds without any view before the widget stops its work: a re-render of the same
    #: output (detach, then attach) takes less
    orphan_grace_s = 2.0
    #: the same when the last view went with its page (closed, or reloading: JupyterLab shows
    #: the widget again once it is back)
    page_grace_s = 60.0
    _outputs: frozenset = OUTPUT_TRAITS

    def __init__(self, **kwargs: Any):
        self._debouncers: list[Debouncer] = []
        # The Layout ipywidgets makes for each DOM widget is a widget of its own: close it
        # with ours, unless the caller passed one (it may be shared).
        self._owns_layout = "layout" not in kwargs
        # anywidget (0.9-0.11) turns a class's `_esm`/`_css` path into one FileContents per
        # class and connects `lambda new: setattr(self, key, new)` to its `changed` signal for
        # live reloading. psygnal holds a lambda strongly, so the class-level signal kept every
        # instance ever made, closed or not (about 1.4 MB each for a GradCAMViewer of the
        # default model, measured over 50 and 100 of them). Declaring the two traits first
        # makes anywidget skip that; live reloading goes through bound methods instead, which
        # psygnal holds weakly, and close() disconnects them.
        self._bundle_files = {
            key: value
            for key in ("_esm", "_css")
            if hasattr(getattr(value := getattr(type(self), key, None), "changed", None), "connect")
        }
        self.add_traits(
            **{
                key: Unicode(str(value)).tag(sync=True)
                for key in ("_esm", "_css")
                if (value := getattr(type(self), key, None)) is not None and not self.has_trait(key)
            }
        )
        self._key = uuid.uuid4().hex
        self._busy_count = 0
        self._busy_lock = threading.Lock()
        self._progress_sent = float("-inf")
        #: control values when the last recompute started that ran to its end (None: unknown)
        self._controls_done: dict | None = None
        self._views: set[str] = set()
        self._views_lock = threading.Lock()
        self._orphan_timer: threading.Timer | None = None
        self._init_static_picture()
        #: how many errors were shown so far (attempt() clears only an error older than its call)
        self._errors_shown = 0
        kwargs.setdefault("_static_key", self._key)
        super().__init__(**kwargs)
        for key, contents in self._bundle_files.items():
            contents.changed.connect(self._reload_esm if key == "_esm" else self._reload_css)
        self.on_msg(self._on_action)

    def _reload_esm(self, contents: str) -> None:
        self._esm = contents

    def _reload_css(self, contents: str) -> None:
        self._css = contents

    # ---- errors ---------------------------------------------------------------------------
    def attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Call ``fn``; an exception becomes ``error`` (the widget stays usable).

        Returns True when the call succeeds, and then clears ``error``, unless an error was shown
        while it ran: a worker that ``fn`` started (Start) can fail before ``fn`` returns, and
        that message must stay. ``Cancelled`` passes through: a recompute that a newer one
        replaced failed at nothing.
        """
        shown = self._errors_shown
        try:
            fn(*args, **kwargs)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user
            self.error = readable(exc)
            return False
        if self._errors_shown == shown:
            self.error = ""
        return True

    @validate("error")
    def _count_error(self, proposal: Any) -> str:
        # A validator sees every assignment, also one that repeats the message already shown
        # (an observer would not be called, and attempt() would clear it).
        if proposal["value"]:
            self._errors_shown = getattr(self, "_errors_shown", 0) + 1
        return proposal["value"]

    # ---- debounced recomputes ---------------------------------------------------------------
    def debounced(self, fn: Callable[..., Any], delay: float | None = None) -> Debouncer:
        """``fn`` wrapped so that a burst of calls runs it once, off the kernel's thread; a
        newer call cancels a running one at its engine's next batch."""
        d = Debouncer(
            lambda *a: self._recompute_run(fn, *a),
            self.debounce_s if delay is None else delay,
            name=f"cnnwidgets-{type(self).__name__}-recompute-{self._key[:8]}",
            on_progress=self._on_recompute_progress,
            on_busy=self._on_recompute_busy,
        )
        self._debouncers.append(d)
        return d

    def _recompute_run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            started = self._controls_now()
        except Exception:  # noqa: BLE001 - a control that cannot be copied: no label, still run
            started = None
        self._progress_sent = float("-inf")
        self.busy_label = self._label_now()
        self.busy_progress = 0.0
        self.attempt(fn, *args)  # Cancelled ends here, before the bookkeeping of a finished run
        self._controls_done = started
        self.busy_progress = 1.0

    def _on_recompute_progress(self, fraction: float) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._progress_sent >= self.progress_interval:
            self._progress_sent = now
            self.busy_progress = fraction

    def _on_recompute_busy(self, flag: bool) -> None:
        with self._busy_lock:
            self._busy_count += 1 if flag else -1
            if flag and self._busy_count == 1:
                # The bar shows from the change on, through the debounce delay: with what the
                # change asks for, not what the last recompute did.
                self.busy_label = self._label_now()
                self.busy_progress = 0.0
            self.busy = self._busy_count > 0

    def _label_now(self) -> str:
        # Called where an exception would stop the debouncer (a widget's own _busy_text too).
        try:
            return self._busy_text()
        except Exception:  # noqa: BLE001 - the label is a courtesy; the work must go on
            return "computing…"

    def flush(self) -> CNNWidget:
        """Run pending debounced recomputes now and wait for them (scripts, tests)."""
        for d in self._debouncers:
            d.flush()
        return self

    # ---- what a recompute computes ------------------------------------------------------------
    def _control_names(self) -> list[str]:
        base = set(CNNWidget.class_trait_names(sync=True))
        traits = self.traits(sync=True)
        return [
            n
            for n, t in traits.items()
            if not n.startswith("_")
            and n not in base
            and n not in self._outputs
            and not n.endswith(DERIVED_SUFFIXES)
            and not isinstance(t, (Bytes, Instance))
        ]

    def _controls_now(self) -> dict:
        return {n: copy.deepcopy(getattr(self, n)) for n in self._control_names()}

    def _busy_text(self) -> str:
        """One line naming what the recompute that starts now computes, shown with the
        progress bar. Default: the controls changed since the last finished recompute, by
        their labels in the pickers ("computing method Score-CAM, target tiger cat (45.3%)…").
        Widgets may say it better."""
        done = self._controls_done
        if done is None:
            return "computing…"
        now = self._controls_now()
        changed = [
            self._describe_control(n, now[n], done.get(n)) for n in now if now[n] != done.get(n)
        ]
        changed = [c for c in changed if c]
        return f"computing {', '.join(changed)}…" if changed else "computing…"

    def _describe_control(self, name: str, value: Any, old: Any) -> str:
        options = getattr(self, f"{name}_options", None)
        if isinstance(options, (list, tuple)):
            for o in options:
                if isinstance(o, (list, tuple)) and len(o) == 2 and o[1] == value:
                    return f"{name} {o[0]}"
        if isinstance(value, dict):
            old = old if isinstance(old, dict) else {}
            return ", ".join(f"{k} {_short(v)}" for k, v in value.items() if old.get(k) != v)
        if isinstance(value, bool):
            return f"{name} {'on' if value else 'off'}"
        return f"{name} {_short(value)}"

    # ---- actions from the front end ---------------------------------------------------------
    def _on_action(self, _widget: Any, content: Any, buffers: list) -> None:
        if not isinstance(content, dict):
            return
        # The front end's own bookkeeping (views, heartbeat) is no user action: it must not
        # clear an error message as a successful action does.
        if self._lifecycle(content):
            return
        handler = getattr(self, f"_action_{content.get('type')}", None)
        if callable(handler):
            self.attempt(handler, content, buffers)

    def _action_upload(self, content: dict, buffers: list) -> None:
        from ..data.images import ImageLoadError, load_image

        if not buffers:
            raise ValueError("the upload carried no file")
        name = content.get("name") or "the file"
        try:
            image = load_image(bytes(buffers[0]))
        except ImageLoadError as exc:
            raise ImageLoadError(
                f"{name} is not an image that can be read (PNG, JPEG, GIF, BMP, TIFF, WebP, ...)"
            ) from exc
        self._use_image(image)

    def set_image(self, image: Any) -> bool:
        """Show another image (anything :func:`cnnwidgets.load_image` reads).

        Returns False, with the reason in ``error``, when it cannot be used; the widget keeps
        its last picture.
        """
        return self.attempt(self._use_image, image)

    def _use_image(self, image: Any) -> None:
        """Widgets that take an image load it here (and raise on bad input)."""
        raise TypeError(f"{type(self).__name__} takes no image")

    # ---- views in the page ---------------------------------------------------------------
    def _lifecycle(self, content: dict) -> bool:
        kind = content.get("type")
        if kind == "ping":
            # The front end's heartbeat: no answer means no kernel behind the view any more.
            self.send({"type": "pong", "id": content.get("id")})
        elif kind == "view_attached":
            with self._views_lock:
                self._views.add(str(content.get("view")))
                timer, self._orphan_timer = self._orphan_timer, None
            if timer is not None:
                timer.cancel()
            if self._controls_done is None:
                # From now on a busy label names what changed since the user first saw it.
                self._controls_done = self._controls_now()
        elif kind == "view_detached":
            with self._views_lock:
                view = str(content.get("view"))
                if view not in self._views:
                    return True
                self._views.discard(view)
                if self._views or self._orphan_timer is not None:
                    return True
                grace = self.page_grace_s if content.get("page") else self.orphan_grace_s
                self._orphan_timer = timer = threading.Timer(grace, self._orphan_check)
                timer.name = f"cnnwidgets-{type(self).__name__}-orphan-{self._key[:8]}"
                timer.daemon = True
            timer.start()
        else:
            return False
        return True

    @property
    def views(self) -> int:
        """How many views of this widget the front end shows now."""
        with self._views_lock:
            return len(self._views)

    def _orphan_check(self) -> None:
        with self._views_lock:
            if self._orphan_timer is not threading.current_thread():
                return  # a view came back, or another check took over
            self._orphan_timer = None
            if self._views:
                return
        self._abandoned()

    def _abandoned(self) -> None:
        """The last view has gone for longer than ``orphan_grace_s`` (its cell ran again or its
        output was cleared): no one can see the work nor reach its Stop button, so it stops."""
        for d in self._debouncers:
            d.abort()
        self._publish_static(force=False)

    # ---- display and lifetime --------------------------------------------------------------
    def show(self):
        """What to display: the widget itself (composite widgets return their box)."""
        return self

    def save(self, path: str | Path) -> Path:
        """Write the current picture (``view``) to a file."""
        path = Path(path)
        path.write_bytes(self.view)
        return path

    def close(self) -> None:
        """Stop pending work, release the bundle files' signals and close the comm. Safe to
        call twice, and on a widget whose constructor failed (ipywidgets closes from
        ``__del__``), so every attribute is read with getattr."""
        for d in getattr(self, "_debouncers", ()):
            d.cancel()
        timer = getattr(self, "_orphan_timer", None)
        if timer is not None:
            timer.cancel()
            self._orphan_timer = None
        self._close_static_picture()
        for key, contents in getattr(self, "_bundle_files", {}).items():
            contents.changed.disconnect(self._reload_esm if key == "_esm" else self._reload_css)
        if getattr(self, "_owns_layout", False) and self.comm is not None:
            close_tree(self.layout)
        super().close()


def _short(value: Any, limit: int = 40) -> str:
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BackgroundWidget(CNNWidget):
    """A widget whose long work runs in one background thread (see the module docstring)."""

    running = Bool(False, help="True while the background work runs").tag(sync=True)
    progress = Float(0.0, help="fraction of the work done, 0..1").tag(sync=True)
    status = Unicode("", help="one line about the work: step, loss, images seen").tag(sync=True)

    #: minimum seconds between two frames sent to the front end (about 10 per second)
    frame_interval = 0.1

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._pending: Publisher | None = None
        self._last_frame = float("-inf")

    def _work(self, stop: threading.Event) -> Iterator[Publisher | None]:
        """One step per iteration; yield a publisher of the current state (or None)."""
        raise NotImplementedError

    def _finished(self, stopped: bool) -> None:
        """Called in the worker after the last frame when the work ended without an error."""

    def offer(self, publish: Publisher) -> None:
        """Publish now if a frame is due, else keep it as the pending frame (worker thread only)."""
        now = time.monotonic()
        if now - self._last_frame >= self.frame_interval:
            self._pending = None
            publish()
            self._last_frame = time.monotonic()
        else:
            self._pending = publish

    def _flush_frame(self) -> None:
        publish, self._pending = self._pending, None
        if publish is not None:
            publish()

    def _loop(self, stop: threading.Event) -> None:
        self._pending, self._last_frame = None, float("-inf")
        try:
            for publish in self._work(stop):
                if publish is not None:
                    self.offer(publish)
                if stop.is_set():
                    break
            self._flush_frame()
            self._finished(stopped=stop.is_set())
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            try:
                self._flush_frame()
            except Exception:  # noqa: BLE001 - the first error is the one to show
                pass
            self.error = readable(exc)
        finally:
            self._pending = None
            self.running = False
            self._publish_static(force=False)  # the notebook keeps the final picture

    @property
    def is_alive(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def start(self) -> BackgroundWidget:
        """Start the work in the background (nothing happens if it already runs)."""
        with self._lock:
            if self.is_alive:
                return self
            self._stop_event = threading.Event()
            self.error = ""
            self.progress = 0.0
            self.running = True
            self._thread = threading.Thread(
                target=self._loop,
                args=(self._stop_event,),
                daemon=True,
                # Named after the widget: a test (or a user) can tell whose thread is left.
                name=f"cnnwidgets-{type(self).__name__}-worker-{self._key[:8]}",
            )
            self._thread.start()
        return self

    def stop(self, wait: bool = True) -> BackgroundWidget:
        """Ask the work to stop after the current step; with ``wait``, join the thread."""
        self._stop_event.set()
        if wait:
            self.wait()
        return self

    def wait(self, timeout: float | None = None) -> BackgroundWidget:
        """Block until the background work has ended (or ``timeout`` seconds passed)."""
        t = self._thread
        if t is None or t is threading.current_thread():
            return self
        deadline = None if timeout is None else time.monotonic() + timeout
        # Short joins, so that Ctrl-C (KeyboardInterrupt) reaches a blocked notebook cell.
        while t.is_alive():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            t.join(0.1 if left is None else min(0.1, left))
        return self

    def run(self, raise_error: bool = True) -> BackgroundWidget:
        """Do the work and block until it ends (scripts, tests, nbval)."""
        self.start()
        try:
            self.wait()
        except KeyboardInterrupt:
            self.stop()
            raise
        if raise_error and self.error:
            raise WidgetError(self.error)
        return self

    def _action_start(self, content: dict, buffers: list) -> None:
        self.start()

    def _action_stop(self, content: dict, buffers: list) -> None:
        self.stop()

    def _abandoned(self) -> None:
        self.stop()
        super()._abandoned()

    def close(self) -> None:
        if getattr(self, "_stop_event", None) is not None:
            self.stop()
        super().close()
