"""FeatureMapViewer: controls redraw the view, bad input shows an error, no threads leak."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image

import cnnwidgets as cw
from cnnwidgets.render.images import readout
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


# ---- colours, legend, shapes and the hover readout ---------------------------------------------


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def signed_model():
    """One 1x1 convolution with known outputs: channel 0 = red - 0.5, channel 1 = twice that,
    at stride (2, 1), so its maps are 8 x 16 (not square) for a 16 x 16 input."""
    conv = torch.nn.Conv2d(3, 2, 1, stride=(2, 1))
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1.0
        conv.weight[1, 0] = 2.0
        conv.bias.copy_(torch.tensor([-0.5, -1.0]))
    module = torch.nn.Sequential(
        OrderedDict(
            conv=conv,
            pool=torch.nn.AdaptiveAvgPool2d(1),
            flat=torch.nn.Flatten(),
            fc=torch.nn.Linear(2, 3),
        )
    )
    return cw.load_model(
        module,
        labels=["a", "b", "c"],
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        input_size=16,
        resize_size=16,
        device="cpu",
    )


def halves() -> np.ndarray:
    """Red 0 on the left, 1 on the right, 0.5 (an activation of exactly 0) in column 8."""
    img = np.zeros((16, 16, 3), np.float32)
    img[:, 8:, 0] = 1.0
    img[:, 8, 0] = 0.5
    return img


@pytest.fixture()
def signed_viewer(no_thread_leak):
    w = FeatureMapViewer(signed_model(), halves(), layer="conv", order="index")
    yield w
    w.close()


def colour(cmap: str, at: float) -> np.ndarray:
    import matplotlib

    return np.round(np.asarray(matplotlib.colormaps[cmap](at)[:3]) * 255)


def test_a_signed_layer_is_drawn_around_zero_with_a_legend(signed_viewer):
    w = signed_viewer
    assert w.error == "" and w.signed and w.colormap == "auto"
    detail = decode(w.detail)
    # 8 x 16 map, each cell a 16 x 16 block: 256 // 16 = 16, the aspect ratio kept.
    assert detail.shape == (128, 256, 3)
    f = 16
    np.testing.assert_allclose(detail[0, 0], colour("RdBu_r", 0.0), atol=1)  # -0.5: bottom
    np.testing.assert_allclose(detail[0, 8 * f], colour("RdBu_r", 0.5), atol=1)  # 0: middle
    np.testing.assert_allclose(detail[0, -1], colour("RdBu_r", 1.0), atol=1)  # +0.5: top
    assert w.legend_labels == ["-0.5", "0", "0.5"]
    legend = decode(w.legend)
    np.testing.assert_allclose(legend[5, 0], colour("RdBu_r", 0.0), atol=1)
    np.testing.assert_allclose(legend[5, -1], colour("RdBu_r", 1.0), atol=1)


def test_per_channel_or_shared_colour_limits(signed_viewer):
    w = signed_viewer
    grid_ = decode(w.view)
    tile = lambda g, i: g[2 : 2 + 32, 2 + i * 66 : 2 + i * 66 + 64]  # noqa: E731
    # Channel 1 is twice channel 0: with limits per channel the two tiles look the same.
    np.testing.assert_array_equal(tile(grid_, 0), tile(grid_, 1))
    w.scale = "layer"
    shared = decode(w.view)
    assert w.error == "" and w.legend_labels == ["-1", "0", "1"]
    assert not np.array_equal(tile(shared, 0), tile(shared, 1))
    # Shared limits +-1: channel 0's +0.5 sits three quarters up the colormap.
    np.testing.assert_allclose(decode(w.detail)[0, -1], colour("RdBu_r", 0.75), atol=1)
    w.scale = "nonsense"
    assert "unknown scale" in w.error


def test_the_colormap_reaches_the_enlarged_channel_and_its_legend(signed_viewer):
    w = signed_viewer
    detail, legend, grid_ = w.detail, w.legend, w.view
    w.colormap = "gray"
    assert w.error == ""
    assert w.detail != detail and w.legend != legend and w.view != grid_
    np.testing.assert_allclose(decode(w.detail)[0, 8 * 16], colour("gray", 0.5), atol=1)


def test_the_readout_carries_the_enlarged_channels_values(signed_viewer):
    w = signed_viewer
    r = w.readout
    assert r["label"] == "activation" and r["size"] == [8, 16] and r["shape"] == [8, 16]
    values = np.frombuffer(r["values"], dtype="<f4").reshape(8, 16)
    np.testing.assert_allclose(values, cw.feature_maps(w.model, w.image, "conv")[0])
    w.channel = 1
    values = np.frombuffer(w.readout["values"], dtype="<f4").reshape(8, 16)
    assert values.max() == pytest.approx(1.0) and values.min() == pytest.approx(-1.0)


def test_a_non_negative_layer_starts_at_zero(viewer):
    assert not viewer.signed
    lo, hi = (float(t) for t in viewer.legend_labels)
    assert lo == 0 and hi > 0 and len(viewer.legend_labels) == 2


def test_readouts_of_large_maps_are_block_means():
    v = np.arange(128 * 100, dtype=np.float32).reshape(128, 100)
    r = readout(v, "value", max_side=64)
    assert r["size"] == [128, 100] and r["shape"] == [64, 50]
    got = np.frombuffer(r["values"], dtype="<f4").reshape(64, 50)
    assert got[0, 0] == pytest.approx(v[:2, :2].mean()) and got[-1, -1] == pytest.approx(
        v[-2:, -2:].mean()
    )


def test_a_grayscale_model_shows_its_input_photo(cat, no_thread_leak):
    net = cw.load_model("simple_cnn", in_channels=1, input_size=28, device="cpu")
    w = FeatureMapViewer(net, cat)
    assert w.error == ""
    photo = Image.open(io.BytesIO(w.photo))
    assert photo.format == "JPEG" and photo.size == (28, 28)
    a = np.asarray(photo.convert("RGB")).astype(int)
    assert np.abs(a[..., 0] - a[..., 1]).max() <= 3  # gray: equal channels (JPEG rounding)
    w.close()
