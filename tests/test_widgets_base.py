"""The widget base: error reporting, debounced recomputes, uploads and the background worker."""

from __future__ import annotations

import threading

import pytest
from traitlets import Int

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
