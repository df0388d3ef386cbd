"""FilterViewer: layer, mode and filter redraw; bad input shows an error; RGB first layer."""

from __future__ import annotations

import pytest

from cnnwidgets.widgets import FilterViewer


@pytest.fixture()
def viewer(tiny_cnn, no_thread_leak):
    w = FilterViewer(tiny_cnn)
    yield w
    w.close()


def test_first_layer_in_colour_at_construction(viewer):
    assert viewer.error == "" and viewer.layer == "conv1"
    assert viewer.layer_options == ["conv1", "conv2"]
    assert viewer.view.startswith(b"\x89PNG") and viewer.detail.startswith(b"\x89PNG")
    assert viewer.filter_max == 3 and "4 filters of 3×3×3" in viewer.caption
    assert "filter 0" in viewer.weights and "input 2:" in viewer.weights


def test_deeper_layer_mode_and_filter_redraw(viewer):
    view = viewer.view
    viewer.layer = "conv2"
    assert viewer.error == "" and viewer.view != view and viewer.filter_max == 5
    view, detail = viewer.view, viewer.detail
    viewer.mode = "mean"
    assert viewer.view != view
    viewer.filter = 4
    assert viewer.detail != detail and "filter 4" in viewer.weights


def test_bad_input_shows_an_error_and_the_widget_still_works(viewer):
    viewer.layer = "relu1"
    assert "not a convolution" in viewer.error
    viewer.layer = "conv2"
    assert viewer.error == ""
    viewer.mode = "rgb"  # conv2 reads 4 channels, not RGB
    assert "3 input channels" in viewer.error
    viewer.mode = "norm"
    assert viewer.error == ""
    viewer.filter = 17
    assert "out of range" in viewer.error


def test_lite0_stem(lite0, no_thread_leak):
    w = FilterViewer(lite0)
    assert w.error == "" and w.view and "32 filters of 3×3×3" in w.caption
    w.close()
