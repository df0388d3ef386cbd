"""SpectrumViewer: background scan with progress, Stop, the six-column figure per channel."""

from __future__ import annotations

import threading

import pytest
import torch

from cnnwidgets.widgets import SpectrumViewer, WidgetError


@pytest.fixture()
def data(tiny_cnn):
    torch.manual_seed(1)
    return torch.randn(24, 3, 16, 16)


def test_scan_in_the_background_then_browse_channels(tiny_cnn, data, no_thread_leak):
    w = SpectrumViewer(tiny_cnn, "conv2", data, k=3, batch_size=8, autostart=False)
    empty = w.view
    assert w.error == "" and empty.startswith(b"\x89PNG") and not w.running
    assert (w.channel_min, w.channel_max) == (0, 5)
    w.run()
    assert w.error == "" and w.images_seen == 24 and w.progress == 1.0
    assert "24 images" in w.status and w.view != empty
    ex = w.spectrum.examples(0)
    assert len(ex["max"]) == 3 and len(ex["min"]) == 3
    before = w.view
    w.channel = 4
    w.flush()
    assert w.error == "" and w.view != before
    w.close()


def test_autostart_and_stop(tiny_cnn, no_thread_leak):
    started = threading.Event()
    big = torch.randn(1, 3, 16, 16).expand(100000, -1, -1, -1)
    w = SpectrumViewer(tiny_cnn, "conv2", big, k=2, batch_size=4)
    w.observe(lambda _: started.set(), "status")
    assert started.wait(30)
    w.stop()
    assert not w.running and not w.is_alive
    assert 0 < w.spectrum.images_seen < 100000 and w.status.startswith("stopped")
    w.close()


def test_bad_input_shows_an_error_and_the_widget_still_works(tiny_cnn, data, no_thread_leak):
    w = SpectrumViewer(tiny_cnn, "conv2", data, channels=[1, 3], k=2, autostart=False)
    w.channel = 2  # not tracked
    w.flush()
    assert "not tracked" in w.error
    w.channel = 3
    w.flush()
    assert w.error == ""
    w.data = ["not an image"]
    with pytest.raises(WidgetError):
        w.run()
    assert not w.running and not w.is_alive and w.error
    w.data = data
    w.run()
    assert w.error == "" and w.images_seen == 24
    w.close()


def test_a_layer_without_a_spatial_map_is_refused(tiny_cnn, data):
    with pytest.raises(ValueError, match="spatial|shape"):
        SpectrumViewer(tiny_cnn, "fc", data, autostart=False)
