"""The convolution explorer's maths against PyTorch's conv2d, the independent reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnwidgets.engines import convolution as conv


def torch_conv(x, k, stride, padding, dilation):
    xt = torch.as_tensor(x, dtype=torch.float64)[None, None]
    kt = torch.as_tensor(k, dtype=torch.float64)[None, None]
    return F.conv2d(xt, kt, stride=stride, padding=padding, dilation=dilation)[0, 0].numpy()


# Sizes chosen to cover odd/even inputs and kernels, rectangular shapes and kernels that barely
# fit once dilated; settings include asymmetric (rows, cols) pairs.
SHAPES = [((7, 7), (3, 3)), ((8, 5), (2, 3)), ((5, 9), (1, 4)), ((6, 6), (5, 5)), ((4, 4), (3, 3))]
SETTINGS = list(itertools.product([1, 2, 3, (1, 2)], [0, 1, 2, (2, 0)], [1, 2, (1, 3)]))


def _fits(shape, kshape, padding, dilation):
    p = padding if isinstance(padding, tuple) else (padding, padding)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    return all(n + 2 * pp >= dd * (k - 1) + 1 for n, k, pp, dd in zip(shape, kshape, p, d))


def test_output_size_matches_conv2d_for_every_combination():
    tried = 0
    for (shape, kshape), (s, p, d) in itertools.product(SHAPES, SETTINGS):
        if not _fits(shape, kshape, p, d):
            with pytest.raises(ValueError, match="spans"):
                conv.output_size(shape, kshape, s, p, d)
            with pytest.raises(RuntimeError):
                torch_conv(np.zeros(shape), np.zeros(kshape), s, p, d)
            continue
        expected = torch_conv(np.zeros(shape), np.zeros(kshape), s, p, d).shape
        assert conv.output_size(shape, kshape, s, p, d) == expected, (shape, kshape, s, p, d)
        tried += 1
    assert tried > 100


def test_output_grid_and_every_cell_match_conv2d():
    rng = np.random.default_rng(0)
    for (shape, kshape), (s, p, d) in itertools.product(SHAPES, SETTINGS):
        if not _fits(shape, kshape, p, d):
            continue
        x, k = rng.normal(size=shape), rng.normal(size=kshape)
        expected = torch_conv(x, k, s, p, d)
        np.testing.assert_allclose(conv.convolve2d(x, k, s, p, d), expected, atol=1e-12)
        for r, c in conv.positions(shape, kshape, s, p, d):
            one = conv.cell(x, k, r, c, s, p, d)
            assert one.total == pytest.approx(expected[r, c], abs=1e-12)
            assert one.products.sum() == pytest.approx(expected[r, c], abs=1e-12)


def test_cell_taps_point_at_the_right_pixels():
    x = np.arange(25, dtype=float).reshape(5, 5)
    one = conv.cell(x, np.ones((3, 3)), 0, 1, stride=2, padding=1, dilation=1)
    # Output (0, 1) with stride 2 and padding 1 starts at padded (0, 2) = image (-1, 1).
    assert one.rows[:, 0].tolist() == [-1, 0, 1]
    assert one.cols[0].tolist() == [1, 2, 3]
    assert one.inside[0].tolist() == [False, False, False]
    assert one.values[1].tolist() == [1, 2, 3]
    assert one.values[0].tolist() == [0, 0, 0]
    dil = conv.cell(x, np.ones((2, 2)), 0, 0, dilation=3)
    assert dil.values.tolist() == [[0, 3], [15, 18]]


def test_bias_is_added_once():
    x, k = np.ones((4, 4)), np.ones((3, 3))
    assert conv.cell(x, k, 0, 0, bias=0.5).total == pytest.approx(9.5)
    np.testing.assert_allclose(conv.convolve2d(x, k, bias=0.5), 9.5)


def test_equation_writes_out_the_sum():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    text = conv.cell(x, [[1, -1], [0, 0.5]], 0, 0).equation()
    assert text == "out[0, 0] = 1*1 + 2*(-1) + 3*0 + 4*0.5 = 1"


def test_formula_shows_the_numbers():
    f = conv.output_size_formula((7, 7), (3, 3), stride=2, padding=1, dilation=1)
    assert f["rows"]["value"] == 4
    assert f["rows"]["text"] == "floor((7 + 2*1 - 1*(3 - 1) - 1) / 2) + 1 = floor(6 / 2) + 1 = 4"
    assert r"\frac{7 + 2 \cdot 1 - 1 \cdot (3 - 1) - 1}{2}" in f["rows"]["latex"]
    bad = conv.output_size_formula((3, 3), (3, 3), dilation=2)
    assert bad["rows"]["value"] is None and "spans 5" in bad["rows"]["error"]


@pytest.mark.parametrize("name", list(conv.KERNELS))
def test_named_kernels_match_conv2d_on_a_photo(name):
    grid = conv.image_grid("camera", size=24)
    assert grid.shape == (24, 24) and 0 <= grid.min() and grid.max() <= 1
    k = conv.kernel(name)
    np.testing.assert_allclose(
        conv.convolve2d(grid, k, padding=1), torch_conv(grid, k, 1, 1, 1), atol=1e-12
    )


def test_kernel_behaviour():
    flat = np.full((6, 6), 0.3)
    for name in ("edge", "sobel_x", "sobel_y"):
        np.testing.assert_allclose(conv.convolve2d(flat, conv.kernel(name)), 0, atol=1e-12)
    for name in ("blur", "gaussian", "sharpen", "identity"):
        np.testing.assert_allclose(conv.convolve2d(flat, conv.kernel(name)), 0.3, atol=1e-12)
    ramp = np.tile(np.arange(6.0), (6, 1))  # brighter to the right
    assert np.all(conv.convolve2d(ramp, conv.kernel("sobel_x")) == 8)
    assert np.all(conv.convolve2d(ramp, conv.kernel("sobel_y")) == 0)
    edited = conv.kernel("blur")
    edited[0, 0] = 99
    assert conv.KERNELS["blur"][0, 0] == pytest.approx(1 / 9)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="unknown kernel"):
        conv.kernel("nope")
    with pytest.raises(ValueError, match="stride must be at least 1"):
        conv.output_size((5, 5), (3, 3), stride=0)
    with pytest.raises(ValueError, match="padding must be at least 0"):
        conv.convolve2d(np.ones((5, 5)), np.ones((3, 3)), padding=-1)
    with pytest.raises(ValueError, match="2-D grid"):
        conv.convolve2d(np.ones((2, 5, 5)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        conv.convolve2d(np.ones((5, 5)), [[np.nan]])
    with pytest.raises(IndexError, match="outside the 3 x 3 output"):
        conv.cell(np.ones((5, 5)), np.ones((3, 3)), 3, 0)
    with pytest.raises(ValueError, match="whole number"):
        conv.output_size((5, 5), (3, 3), stride=1.5)


def test_a_grid_of_numbers_is_used_as_is():
    g = conv.image_grid([[0, 5], [7, 2]])
    assert g.tolist() == [[0, 5], [7, 2]]


def test_make_kernel_sizes():
    flat = np.full((9, 9), 0.4)
    for size in (1, 2, 3, 4, 5):
        for name in ("blur", "gaussian", "identity"):
            k = conv.make_kernel(name, size)
            assert k.shape == (size, size)
            np.testing.assert_allclose(conv.convolve2d(flat, k), 0.4, atol=1e-12)
        np.testing.assert_allclose(
            conv.convolve2d(flat, conv.make_kernel("edge", size)), 0, atol=1e-12
        )
    np.testing.assert_array_equal(conv.make_kernel("gaussian", 3), conv.KERNELS["gaussian"])
    np.testing.assert_array_equal(conv.make_kernel("sobel_x", 3), conv.KERNELS["sobel_x"])
    big = conv.make_kernel("sobel_x", 5)
    x = np.random.default_rng(1).normal(size=(9, 9))
    # Centred in zeros, a 5 x 5 Sobel with padding 2 does what the 3 x 3 one does with padding 1.
    np.testing.assert_allclose(
        conv.convolve2d(x, big, padding=2),
        conv.convolve2d(x, conv.KERNELS["sobel_x"], padding=1),
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="at least 3"):
        conv.make_kernel("sobel_x", 2)
    with pytest.raises(ValueError, match="from 1 to 15"):
        conv.make_kernel("blur", 0)
