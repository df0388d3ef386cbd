"""cw.filters and the filter pictures: the weights themselves, clear errors, grey = 0."""

import numpy as np
import pytest
import torch

import cnnwidgets as cw
from cnnwidgets.render.filters import channel_grid, filter_grid, norm_filters, rgb_filters

from .conftest import assert_left_as_found, model_snapshot


def test_filters_equal_the_weights(tiny_cnn):
    before = model_snapshot(tiny_cnn)
    w = cw.filters(tiny_cnn, "conv2")
    ref = tiny_cnn.module.conv2.weight.detach().numpy()
    assert w.shape == (6, 4, 3, 3) and w.dtype == np.float32
    np.testing.assert_array_equal(w, ref)
    w[:] = 0  # a copy: the model keeps its weights
    assert tiny_cnn.module.conv2.weight.abs().sum() > 0
    assert_left_as_found(before, tiny_cnn)


def test_filters_of_lite0_grouped_and_stem(lite0):
    stem = cw.filters(lite0, "_conv_stem")
    assert stem.shape == (32, 3, 3, 3)
    dw = cw.filters(lite0, "_blocks.1._depthwise_conv")  # depthwise: C_in / groups == 1
    assert dw.shape == (96, 1, 3, 3)
    np.testing.assert_array_equal(
        dw, lite0.module._blocks[1]._depthwise_conv.weight.detach().numpy()
    )


def test_non_conv_layer_names_the_conv_layers(tiny_cnn):
    with pytest.raises(cw.NotAConvLayerError) as err:
        cw.filters(tiny_cnn, "relu1")
    assert "relu1" in str(err.value) and "conv1" in str(err.value) and "conv2" in str(err.value)
    with pytest.raises(cw.LayerNotFoundError, match="conv1"):
        cw.filters(tiny_cnn, "conv9")
    with pytest.raises(TypeError, match="load_model"):
        cw.filters(tiny_cnn.module, "conv1")


def test_transposed_conv_in_out_layout():
    module = torch.nn.Sequential(torch.nn.ConvTranspose2d(3, 5, 3), torch.nn.Flatten())
    m = cw.load_model(module, input_size=8, device="cpu")
    w = cw.filters(m, "0")
    assert w.shape == (5, 3, 3, 3)
    np.testing.assert_array_equal(w, module[0].weight.detach().numpy().transpose(1, 0, 2, 3))


def test_rgb_filters_grey_is_zero():
    w = np.zeros((2, 3, 3, 3), np.float32)
    w[0, 0, 1, 1] = 2.0  # red centre, positive
    w[0, 2, 0, 0] = -1.0  # blue corner, negative
    img = rgb_filters(w)
    assert img.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(img[1], 0.5)  # an all-zero filter is all grey
    assert img[0, 1, 1, 0] == 1.0 and img[0, 0, 0, 2] == 0.25 and img[0, 2, 2, 1] == 0.5
    with pytest.raises(ValueError, match="3 input channels"):
        rgb_filters(np.zeros((2, 4, 3, 3)))


def test_filter_pictures_are_png_ready(tiny_cnn):
    w1, w2 = cw.filters(tiny_cnn, "conv1"), cw.filters(tiny_cnn, "conv2")
    for pic in (
        filter_grid(w1),
        filter_grid(w2),
        filter_grid(w2, mode="mean"),
        channel_grid(w2, 0),
    ):
        assert pic.ndim == 3 and pic.shape[-1] == 3 and pic.min() >= 0 and pic.max() <= 1
        assert cw.render.to_png(pic)[:4] == b"\x89PNG"
    np.testing.assert_allclose(
        norm_filters(w2), np.sqrt((w2.astype(np.float64) ** 2).sum(1)), rtol=1e-6
    )
    with pytest.raises(IndexError, match="6 filters"):
        channel_grid(w2, 6)
