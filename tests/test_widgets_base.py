"""The widget base: error reporting, debounced recomputes, uploads and the background worker."""

from __future__ import annotations

import threading

import pytest
from traitlets import Int, List

from cnnwidgets.core.progress import report
from cnnwidgets.widgets.base import BackgroundWidget, CNNWidget, Debouncer, WidgetError, readable


class Counter(BackgroundWidget):
    """Counts to `steps`; fails at step `fail_at`; waits on `gate` at `block_at` when set."""

    _esm = "export default { render() {} };"
    steps = Int(5).tag(sync=True)
    count = Int(0).tag(sync=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.fail_at = None
        self.block_at = None
        self.gate = threading.Event()
        self.at_block = threading.Event()
        self.published = []

    def _work(self, stop):
        for i in range(1, self.steps + 1):
            if i == self.fail_at:
                raise ValueError("step failed")
            if i == self.block_at:
                self.at_block.set()
                self.gate.wait()
            yield lambda i=i: self._publish(i)

    def _publish(self, i):
        self.count = i
        self.published.append(i)
        self.view = bytes([i])


def test_run_blocks_and_always_sends_the_final_frame(no_thread_leak):
    w = Counter(steps=50)
    w.frame_interval = 3600  # only the first and the final frame are due
    w.run()
    assert w.count == 50 and w.published == [1, 50]
    assert not w.running and not w.is_alive and w.error == ""
    w.close()


def test_stop_is_honoured_within_one_step_and_joins_the_thread(no_thread_leak):
    w = Counter(steps=1000)
    w.block_at = 3
    w.start()
    assert w.running
    assert w.at_block.wait(10)
    w._stop_event.set()  # Stop arrives while step 3 runs ...
    w.gate.set()
    w.stop()  # ... and joins
    assert not w.is_alive and not w.running
    assert w.count == 3  # the step in flight finished and was sent; no more
    w.close()


def test_an_error_in_the_work_is_shown_and_the_widget_runs_again(no_thread_leak):
    w = Counter(steps=5)
    w.fail_at = 3
    with pytest.raises(WidgetError, match="step failed"):
        w.run()
    assert w.error == "ValueError: step failed" and not w.running and w.count == 2
    w.fail_at = None
    w.run()
    assert w.error == "" and w.count == 5
    w.close()


def test_a_worker_that_fails_before_start_returns_keeps_its_error(no_thread_leak):
    # The Start action runs under attempt(), which clears `error` when its handler returns: the
    # worker's failure, shown while the handler still ran, must survive that.
    w = Counter(steps=5)
    w.fail_at = 1
    real_start = w.start

    def start_and_wait():
        real_start()
        w._thread.join(10)  # the worker failed before the handler returns

    w.start = start_and_wait
    w._on_action(w, {"type": "start"}, [])
    assert w.error == "ValueError: step failed" and not w.running
    w._on_action(w, {"type": "start"}, [])  # the same failure again: the same message stays
    assert w.error == "ValueError: step failed"
    w.close()


def test_close_stops_running_work(no_thread_leak):
    w = Counter(steps=10)
    w.block_at = 2
    w.start()
    assert w.at_block.wait(10)
    w.gate.set()
    w.close()
    assert not w.is_alive


def test_start_and_stop_actions_from_the_front_end(no_thread_leak):
    w = Counter(steps=3)
    w._on_action(w, {"type": "start"}, [])
    w.wait()
    assert w.count == 3
    w._on_action(w, {"type": "stop"}, [])
    w._on_action(w, {"type": "no-such-action"}, [])
    assert w.error == ""
    w.close()


def test_debouncer_runs_the_last_call_of_a_burst_once(no_thread_leak):
    calls = []
    d = Debouncer(calls.append, delay=3600)  # only flush() lets it run
    for i in range(20):
        d(i)
    d.flush()
    assert calls == [19]
    d(20)
    d.cancel()
    d(21)
    d.flush()
    assert calls == [19]


class Plain(CNNWidget):
    _esm = "export default { render() {} };"

    def _use_image(self, image):
        self.image = image
        self.view = b"image"


def test_attempt_turns_exceptions_into_error_and_clears_it(no_thread_leak):
    w = Plain()
    assert not w.attempt(lambda: {}["missing"])
    assert w.error == "KeyError: missing"
    assert w.attempt(lambda: None) and w.error == ""
    w.close()


def test_upload_of_a_non_image_shows_an_error_and_an_image_goes_through(no_thread_leak, cat):
    import io

    w = Plain()
    w._on_action(w, {"type": "upload", "name": "notes.txt"}, [memoryview(b"just some text")])
    assert "notes.txt" in w.error and w.view == b""
    buf = io.BytesIO()
    cat.save(buf, format="PNG")
    w._on_action(w, {"type": "upload", "name": "cat.png"}, [memoryview(buf.getvalue())])
    assert w.error == "" and w.view == b"image" and w.image.size == cat.size
    w.close()


def test_readable_messages():
    assert readable(ValueError("bad layer")) == "ValueError: bad layer"
    assert readable(RuntimeError()) == "RuntimeError"


def test_busy_while_a_debounced_recompute_runs(no_thread_leak):
    w = Plain()
    seen = []
    recompute = w.debounced(lambda: seen.append(w.busy))
    recompute()
    w.flush()
    assert seen == [True] and w.busy is False
    w.close()


# ---- long recomputes: progress, cancel, views, static pictures -------------------------------
class Recompute(CNNWidget):
    """A widget whose debounced recompute reports `steps` batches, waiting on `gate` at each."""

    _esm = "export default { render() {} };"
    choice = Int(0).tag(sync=True)
    choice_options = List([["first", 0], ["second", 1], ["third", 2]]).tag(sync=True)

    def __init__(self, steps=4, **kw):
        super().__init__(**kw)
        self.steps = steps
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.done = []
        self._recompute = self.debounced(self._compute)
        self.observe(lambda _: self._recompute(), "choice")

    def _compute(self):
        for i in range(self.steps):
            self.entered.set()
            while not self.gate.wait(0.01):
                report(i, self.steps)  # raises Cancelled once a newer change arrived
            report(i + 1, self.steps)
        self.done.append(self.choice)
        self.view = bytes([self.choice])


def test_recompute_progress_reaches_the_widget_in_order_and_ends_at_one(no_thread_leak):
    w = Recompute(steps=5)
    w.progress_interval = 0  # every report, not ~10 per second
    seen = []
    w.observe(lambda c: seen.append(c["new"]), "busy_progress")
    w.choice = 1
    w.flush()
    assert seen == [0.2, 0.4, 0.6, 0.8, 1.0]
    w.choice = 2  # the next recompute starts from 0
    w.flush()
    assert seen[5:] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert not w.busy
    w.close()


def test_a_newer_change_cancels_the_running_recompute_and_only_the_last_one_completes(
    no_thread_leak,
):
    w = Recompute(steps=3)
    views = []
    w.observe(lambda c: views.append(c["new"]), "view")
    w.gate.clear()
    w.choice = 1
    assert w.entered.wait(30)  # the recompute for 1 runs, held at its first batch
    w._recompute.delay = 3600  # what follows stays pending until flush()
    for i in range(10):
        w.choice = i % 3
    w.choice = 2
    w.gate.set()
    w.flush()
    d = w._recompute
    assert (d.completed, d.cancelled) == (1, 1)
    assert w.done == [2] and views == [bytes([2])]
    assert w.error == "" and not w.busy
    w.close()


def test_a_recompute_that_asks_for_another_run_is_not_cancelled_by_it(no_thread_leak):
    calls = []
    d = None

    def fn(i):
        calls.append(i)
        if i == 0:
            d(1)  # e.g. it set a control whose observer recomputes
        report(1, 1)  # would raise Cancelled if the request above had cancelled this run

    d = Debouncer(fn, delay=0)
    d(0)
    d.flush()
    assert calls == [0, 1] and (d.completed, d.cancelled) == (2, 0)


def test_busy_label_names_the_changed_control_by_its_label(no_thread_leak):
    w = Recompute(steps=1)
    labels = []
    w.observe(lambda c: labels.append(c["new"]), "busy_label")
    w._on_action(w, {"type": "view_attached", "view": "v1"}, [])  # the user sees choice 0
    w.choice = 2
    w.flush()
    w.choice = 1
    w.flush()
    assert labels == ["computing choice third…", "computing choice second…"]
    w.close()


def test_gradcam_scorecam_progress_reaches_the_widget(tiny_cnn, monkeypatch, no_thread_leak):
    import numpy as np

    import cnnwidgets as cw
    from cnnwidgets.engines import cam as cam_engine

    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    w = cw.GradCAMViewer(tiny_cnn, image, layer="conv2")
    w.progress_interval = 0
    # Two masks per forward pass: Score-CAM of conv2's 6 channels takes several batches.
    monkeypatch.setattr(cam_engine, "auto_batch_size", lambda *a, **k: 2)
    seen, labels = [], []
    w.observe(lambda c: seen.append(c["new"]), "busy_progress")
    w.observe(lambda c: labels.append(c["new"]), "busy_label")
    w._on_action(w, {"type": "view_attached", "view": "v1"}, [])
    w.method = "scorecam"
    w.flush()
    assert w.error == ""
    assert len(set(seen)) >= 3, seen
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert labels and "Score-CAM" in labels[-1]
    w.close()


def test_gradcam_class_changes_during_scorecam_cancel_it_and_compute_the_last_once(
    tiny_cnn, monkeypatch, no_thread_leak
):
    import numpy as np

    import cnnwidgets as cw
    from cnnwidgets.core import progress
    from cnnwidgets.engines import cam as cam_engine

    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    w = cw.GradCAMViewer(tiny_cnn, image, layer="conv2")
    classes = [o[1] for o in w.target_options]
    gate, entered = threading.Event(), threading.Event()

    def held_report(done, total):
        # Holds the first Score-CAM batch until the test has made its changes; the real
        # report inside the wait raises Cancelled as soon as a newer change arrives.
        entered.set()
        while not gate.wait(0.01):
            progress.report(done, total)
        progress.report(done, total)

    monkeypatch.setattr(cam_engine, "auto_batch_size", lambda *a, **k: 2)
    monkeypatch.setattr(cam_engine, "report", held_report)
    views = []
    w.observe(lambda c: views.append(c["new"]), "view")
    w.method = "scorecam"
    assert entered.wait(60)
    w._recompute.delay = 3600
    last = classes[2]

    def class_changes():  # as the kernel receives them from the page
        for i in range(10):
            w.target = classes[i % len(classes)]
        w.target = last

    kernel = threading.Thread(target=class_changes)
    kernel.start()
    kernel.join(60)
    blocked = kernel.is_alive()
    gate.set()
    kernel.join()
    # Nothing on the kernel's thread may wait for the running recompute (the model's lock).
    assert not blocked
    w.flush()
    d = w._recompute
    assert (d.completed, d.cancelled) == (1, 1)
    assert len(views) == 1 and w.attribution.target == last
    assert w.error == ""
    w.close()


class Endless(BackgroundWidget):
    """Background work that runs until stopped."""

    _esm = "export default { render() {} };"

    def _work(self, stop):
        while True:
            stop.wait(0.01)
            yield None


def test_a_widget_whose_last_view_went_stops_its_work(no_thread_leak):
    w = Endless()
    w.orphan_grace_s = 0.05
    w._on_action(w, {"type": "view_attached", "view": "a"}, [])
    w._on_action(w, {"type": "view_attached", "view": "b"}, [])
    w.start()
    w._on_action(w, {"type": "view_detached", "view": "a"}, [])
    assert w._orphan_timer is None and w.is_alive  # another view still shows it
    w._on_action(w, {"type": "view_detached", "view": "b"}, [])
    w.wait(60)
    assert not w.is_alive and not w.running and w.views == 0
    w.close()


def test_a_rerendered_view_keeps_the_work_running(no_thread_leak):
    w = Endless()
    w.orphan_grace_s = 3600
    w._on_action(w, {"type": "view_attached", "view": "a"}, [])
    w.start()
    w._on_action(w, {"type": "view_detached", "view": "a"}, [])
    timer = w._orphan_timer
    assert timer is not None
    w._on_action(w, {"type": "view_attached", "view": "b"}, [])  # the same output, re-rendered
    timer.join()
    assert w.is_alive and w.running and w.views == 1
    w.close()
    assert not w.is_alive


def test_a_page_that_goes_away_gets_longer_to_come_back(no_thread_leak):
    w = Endless()
    w.orphan_grace_s, w.page_grace_s = 0.05, 3600
    w._on_action(w, {"type": "view_attached", "view": "a"}, [])
    w.start()
    w._on_action(w, {"type": "view_detached", "view": "a", "page": True}, [])  # a reload
    timer = w._orphan_timer
    assert timer is not None and timer.interval == 3600
    w._on_action(w, {"type": "view_attached", "view": "b"}, [])  # the reloaded page
    timer.join()
    assert w.is_alive and w.views == 1
    w.close()


def test_an_orphaned_recompute_is_cancelled(no_thread_leak):
    w = Recompute(steps=3)
    w.orphan_grace_s = 0.05
    w._on_action(w, {"type": "view_attached", "view": "a"}, [])
    w.gate.clear()
    w.choice = 1
    assert w.entered.wait(30)
    w._on_action(w, {"type": "view_detached", "view": "a"}, [])
    w.flush()
    assert (w._recompute.completed, w._recompute.cancelled) == (0, 1) and w.done == []
    w.choice = 2  # a widget shown again works as before
    w.gate.set()
    w.flush()
    assert w.done == [2]
    w.close()


def test_ping_gets_a_pong_and_lifecycle_messages_keep_the_error(no_thread_leak):
    w = Plain()
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    w.error = "ValueError: shown to the user"
    w._on_action(w, {"type": "ping", "id": 7}, [])
    w._on_action(w, {"type": "view_attached", "view": "a"}, [])
    w._on_action(w, {"type": "view_detached", "view": "nope"}, [])
    assert sent == [{"type": "pong", "id": 7}]
    assert w.error == "ValueError: shown to the user" and w.views == 1
    w.close()


class FakeHandle:
    def __init__(self, log):
        self.log = log

    def update(self, obj, raw=False):
        self.log.append(("update", obj))


def test_display_shows_the_live_view_and_a_static_picture_kept_current(monkeypatch, no_thread_leak):
    import base64

    import IPython.display

    from cnnwidgets.widgets import static_picture

    log = []

    def fake_display(obj, raw=False, display_id=None, metadata=None):
        log.append(("display", obj, display_id))
        return FakeHandle(log) if display_id else None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    png = b"\x89PNG\r\n\x1a\n" + b"1" * 20
    w = Recompute()
    w.view = png
    w.static_interval = 3600  # later changes wait for the cell's end
    w._ipython_display_()
    (_, live, _), (_, static, display_id) = log
    assert "application/vnd.jupyter.widget-view+json" in live
    assert display_id is True
    assert base64.b64decode(static["image/png"]) == png
    assert f'data-cnnw-static="{w._static_key}"' in static["text/html"]
    assert base64.b64encode(png).decode() in static["text/html"]

    w.view = jpeg = b"\xff\xd8\xff\xe0" + b"2" * 20
    assert len(log) == 2  # throttled: a timer holds it
    static_picture._flush_static_pictures()  # what IPython calls after each cell
    (kind, bundle) = log[2]
    assert kind == "update" and base64.b64decode(bundle["image/jpeg"]) == jpeg
    assert "image/png" not in bundle
    static_picture._flush_static_pictures()
    assert len(log) == 3  # nothing changed since
    w.close()
