"""The progress/cancel channel (cnnwidgets.core.progress) and the engines that report through it:
fractions reach the scope's callback in order and end at 1, nested loops share one range, a
set event ends the call at its next batch and leaves the model as found."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import cnnwidgets as cw
from cnnwidgets.core import CNNWidgetsError
from cnnwidgets.core.progress import Cancelled, part, progress_scope, report

from .conftest import assert_left_as_found, model_snapshot


def _image():
    return np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)


def test_reports_outside_a_scope_do_nothing():
    report(1, 2)  # no scope, no callback, no error


def test_fractions_of_nested_parts_map_onto_one_range():
    seen = []
    with progress_scope(seen.append):
        for i in range(2):
            with part(i, i + 1, 2):
                for j in range(4):
                    report(j + 1, 4)
            report(i + 1, 2)
    assert seen == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.5, 0.625, 0.75, 0.875, 1.0, 1.0])


def test_a_set_event_raises_cancelled_at_the_next_report():
    cancel = threading.Event()
    seen = []
    with pytest.raises(Cancelled), progress_scope(seen.append, cancel):
        report(1, 3)
        cancel.set()
        report(2, 3)
    assert seen == pytest.approx([1 / 3])
    assert issubclass(Cancelled, CNNWidgetsError)


def test_an_inner_scope_keeps_the_outer_cancellation():
    outer = threading.Event()
    inner_seen, outer_seen = [], []
    with progress_scope(outer_seen.append, outer):
        with progress_scope(inner_seen.append):
            report(1, 2)
            outer.set()
            with pytest.raises(Cancelled):
                report(2, 2)
    assert inner_seen == [0.5] and outer_seen == []


def test_a_scope_belongs_to_its_thread():
    seen = []

    def elsewhere():
        report(1, 1)

    with progress_scope(seen.append):
        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
    assert seen == []


def test_scorecam_reports_each_mask_batch_in_order_and_ends_at_one(tiny_cnn):
    seen = []
    with progress_scope(seen.append):
        cw.cam(tiny_cnn, _image(), layer="conv2", method="scorecam", batch_size=2)
    # conv2 has 6 channels: up to 3 batches of masks (fewer if a map is constant)
    assert len(seen) >= 2
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_smoothgrad_over_scorecam_moves_one_bar_forward(tiny_cnn):
    seen = []
    with progress_scope(seen.append):
        cw.cam(
            tiny_cnn,
            _image(),
            layer="conv2",
            method="smoothgrad",
            base="scorecam",
            n_samples=4,
            batch_size=2,
        )
    assert len(seen) > 4
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize(
    "method, params",
    [("integrated_gradients", {"steps": 8}), ("smoothgrad", {"n_samples": 6})],
)
def test_saliency_samples_report_in_order(tiny_cnn, method, params):
    seen = []
    with progress_scope(seen.append):
        cw.saliency(tiny_cnn, _image(), method=method, batch_size=2, **params)
    assert len(seen) >= 3
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_a_cancelled_scorecam_stops_at_its_next_batch_and_leaves_the_model_as_found(
    lived_in_tiny_cnn,
):
    m, before = lived_in_tiny_cnn
    cancel = threading.Event()
    seen = []

    def on_progress(f):
        seen.append(f)
        if f > 0:
            cancel.set()  # after the first batch of masks

    with pytest.raises(Cancelled), progress_scope(on_progress, cancel):
        cw.cam(m, _image(), layer="conv2", method="scorecam", batch_size=1)
    assert 0 < seen[-1] < 1  # it ended before its last batch
    assert_left_as_found(before, m)
    # and the model works as before
    assert cw.cam(m, _image(), layer="conv2", method="scorecam").map.shape == (16, 16)
    assert model_snapshot(m)["hooks"] == 0


def test_faithfulness_reports_each_batch_and_a_set_event_ends_it(lived_in_tiny_cnn):
    # The widgets score every map they show: a newer control change must not wait for it.
    m, before = lived_in_tiny_cnn
    a = cw.cam(m, _image(), layer="conv2")
    seen = []
    with progress_scope(seen.append):
        cw.faithfulness(m, _image(), a, steps=10, batch_size=4)
    # 2 endpoints + 9 deletion + 9 insertion points + the masked image = 21 images, 6 batches
    assert len(seen) == 6 and seen == sorted(seen) and seen[-1] == 1.0
    cancel = threading.Event()

    def on_progress(f):
        cancel.set()  # after the first batch

    with pytest.raises(Cancelled), progress_scope(on_progress, cancel):
        cw.faithfulness(m, _image(), a, steps=10, batch_size=4)
    assert_left_as_found(before, m)
