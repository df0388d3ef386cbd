"""FeatureMapViewer: controls redraw the view, bad input shows an error, no threads leak."""

from __future__ import annotations

import pytest

import cnnwidgets as cw
from cnnwidgets.widgets import FeatureMapViewer


@pytest.fixture()
def viewer(tiny_cnn, cat, no_thread_leak):
    w = FeatureMapViewer(tiny_cnn, cat, layer="relu1")
    yield w
    w.close()


def test_view_photo_and_detail_are_set_at_construction(viewer):
    assert viewer.error == ""
    assert viewer.view.startswith(b"\x89PNG") and viewer.detail.startswith(b"\x89PNG")
    assert viewer.photo.startswith(b"\xff\xd8")
    assert viewer.layer_options == ["conv1", "relu1", "conv2", "relu2"]
    assert viewer.channel_max == 3
    assert sorted(viewer.grid_layout["channels"]) == [0, 1, 2, 3]


def test_grid_is_sorted_by_mean_activation_or_in_order(viewer, tiny_cnn, cat):
    maps = cw.feature_maps(tiny_cnn, cat, "relu1")
    assert viewer.grid_layout["channels"] == list(cw.top_channels(maps, k=4))
    before = viewer.view
    viewer.order = "index"
    assert viewer.grid_layout["channels"] == [0, 1, 2, 3]
    assert viewer.view != before


def test_layer_change_redraws_with_that_layers_channels(viewer):
    before = viewer.view
    viewer.layer = "conv2"
    viewer.flush()
    assert viewer.error == "" and viewer.view != before and viewer.channel_max == 5


def test_channel_and_colormap_only_redraw(viewer, tiny_cnn):
    # Counted by a forward hook (the engine's cache, which this counted through, is gone).
    calls = []
    handle = tiny_cnn.module.conv1.register_forward_hook(lambda *a: calls.append(1))
    try:
        detail, view = viewer.detail, viewer.view
        viewer.channel = 2
        assert viewer.detail != detail and "channel 2 of 4" in viewer.caption
        viewer.colormap = "gray"
        viewer.order = "index"
        assert viewer.view != view
    finally:
        handle.remove()
    assert calls == []  # no engine call


def test_bad_input_shows_an_error_and_the_widget_still_works(viewer):
    viewer.layer = "no_such_layer"
    viewer.flush()
    assert "no_such_layer" in viewer.error
    viewer.colormap = "not-a-colormap"
    assert "colormap" in viewer.error
    viewer.colormap = "viridis"
    viewer.layer = "conv2"
    viewer.flush()
    assert viewer.error == ""
    viewer.channel = 99
    assert "out of range" in viewer.error
    viewer.channel = 1
    assert viewer.error == ""


def test_a_new_image_redraws(viewer, coffee):
    before, photo = viewer.view, viewer.photo
    assert viewer.set_image(coffee)
    viewer.flush()
    assert viewer.view != before and viewer.photo != photo


def test_lite0_default_layer(lite0, cat, no_thread_leak):
    w = FeatureMapViewer(lite0, cat)
    assert w.error == "" and w.view and w.layer in lite0.spatial_layers
    w.close()
