"""Render helpers: colormaps, overlays, grids, PNG bytes."""

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from cnnwidgets import render


def test_sequential_colormap_matches_matplotlib():
    values = np.linspace(-3, 5, 12).reshape(3, 4)
    expected = matplotlib.colormaps["viridis"]((values + 3) / 8)[..., :3]
    assert np.allclose(render.apply_colormap(values, "viridis"), expected, atol=1e-6)


def test_diverging_colormap_puts_zero_at_the_centre():
    values = np.array([[-1.0, 0.0, 4.0]])
    rgb = render.apply_colormap(values, signed=True)
    centre = matplotlib.colormaps[render.DIVERGING](0.5)[:3]
    assert np.allclose(rgb[0, 1], centre, atol=1e-6)
    # limits are symmetric: -1 sits a quarter of the way from the centre towards blue
    assert np.allclose(rgb[0, 0], matplotlib.colormaps[render.DIVERGING](0.375)[:3], atol=1e-6)


def test_overlay_alpha_blends_and_resizes():
    img = np.zeros((8, 8, 3), np.float32)
    heat = np.ones((2, 2), np.float32)
    assert np.allclose(render.overlay(img, heat, alpha=0.0), img)
    full = render.overlay(img, heat, alpha=1.0, cmap="gray")
    assert full.shape == (8, 8, 3) and np.allclose(full, 0.0) | np.allclose(full, 1.0)
    half = render.overlay(np.ones((8, 8, 3)), np.zeros((2, 2)), alpha=0.5, cmap="gray")
    assert np.allclose(half, 0.5)


def test_grid_tiles_row_by_row_with_padding():
    tiles = [np.full((2, 3), v, np.float32) for v in (0.1, 0.2, 0.3)]
    g = render.grid(tiles, ncols=2, pad=1, pad_value=1.0)
    assert g.shape == (2 * 3 + 1, 2 * 4 + 1, 3)
    assert np.allclose(g[1:3, 1:4], 0.1) and np.allclose(g[1:3, 5:8], 0.2)
    assert np.allclose(g[4:6, 1:4], 0.3) and np.allclose(g[4:6, 5:8], 1.0)
    with pytest.raises(ValueError):
        render.grid([])


def test_png_round_trip():
    img = np.random.default_rng(0).random((5, 7, 3))
    back = np.asarray(Image.open(io.BytesIO(render.to_png(img))))
    assert np.array_equal(back, render.to_uint8(img))
    assert render.to_jpeg(img)[:2] == b"\xff\xd8"


def test_upscale_is_integer_nearest_neighbour():
    a = np.arange(6).reshape(2, 3)
    up = render.upscale(a, 5)
    assert up.shape == (6, 9) and up[5, 8] == 5 and up[0, 2] == 0 and up[0, 3] == 1


def test_training_curves_picture_shows_the_history():
    from types import SimpleNamespace

    from cnnwidgets.render.curves import training_curves_png

    empty = training_curves_png(None)
    history = SimpleNamespace(
        batches=[{"step": s, "loss": 2.0 / s, "accuracy": 1 - 1.0 / s} for s in range(1, 30)],
        epochs=[
            {"step": 15, "val_loss": 0.3, "val_accuracy": 0.9},
            {"step": 29, "val_loss": 0.2, "val_accuracy": 0.95},
        ],
    )
    drawn = training_curves_png(history)
    for png in (empty, drawn):
        assert Image.open(io.BytesIO(png)).format == "PNG"
    a = np.asarray(Image.open(io.BytesIO(empty)).convert("L"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(drawn)).convert("L"), dtype=float)
    # The curves and the legend add ink: the drawn picture is darker than the empty axes.
    assert b.shape[0] > 100 and b.mean() < a.mean() - 1
