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


def ids_per_column(spectrum, channel):
    return {col: [e.image_id for e in ex] for col, ex in spectrum.examples(channel).items()}


def test_scanning_again_starts_afresh_and_counts_no_image_twice(tiny_cnn, data, no_thread_leak):
    w = SpectrumViewer(tiny_cnn, "conv2", data, k=3, batch_size=8, autostart=False)
    w.run()
    first = {c: ids_per_column(w.spectrum, c) for c in range(6)}
    figure = w.view
    w.run()  # Scan pressed again
    assert w.error == "" and w.images_seen == w.spectrum.images_seen == 24
    assert "24 images" in w.status and "48" not in w.status
    for c in range(6):
        ids = ids_per_column(w.spectrum, c)
        assert ids == first[c]  # the same examples, each image once
        for col, got in ids.items():
            assert len(got) == len(set(got)) and all(0 <= i < 24 for i in got), (c, col, got)
    assert w.view == figure
    w.close()


def test_scan_after_stop_starts_over(tiny_cnn, no_thread_leak):
    gate = threading.Event()
    data = torch.rand(24, 3, 16, 16)  # a Dataset's items are pictures, in [0, 1]

    class Slow(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            if i == 12:
                gate.wait(10)  # the scan is stopped while it waits here
            return data[i]

    w = SpectrumViewer(tiny_cnn, "conv2", Slow(), k=3, batch_size=4, autostart=False)
    seen = threading.Event()
    w.observe(lambda c: seen.set() if c.new >= 8 else None, "images_seen")
    w.start()
    assert seen.wait(30)
    w.stop(wait=False)
    gate.set()
    w.wait()
    partial = w.images_seen
    assert 8 <= partial < 24 and w.status.startswith("stopped")
    w.run()
    assert w.error == "" and w.images_seen == 24 and w.status == "done: 24 images scanned"
    ids = ids_per_column(w.spectrum, 0)["max"]
    assert len(ids) == len(set(ids))
    w.close()


def test_a_stream_goes_on_with_its_next_images(tiny_cnn, no_thread_leak):
    stream = iter(list(torch.rand(24, 3, 16, 16)))  # a one-shot iterator: it cannot start over
    w = SpectrumViewer(tiny_cnn, "conv2", stream, k=3, batch_size=4, limit=8, autostart=False)
    assert w.continues
    statuses = []
    w.observe(lambda c: statuses.append(c.new), "status")
    w.run()
    assert w.images_seen == 8
    w.run()
    assert w.images_seen == 16 and "scanned 8 more images (16 in all)" in statuses
    w.run()
    w.run()  # the stream is exhausted: nothing new, nothing counted twice
    assert w.images_seen == 24 and w.error == ""
    ids = [e.image_id for col in w.spectrum.examples(0).values() for e in col]
    assert all(0 <= i < 24 for i in ids)
    w.close()
