"""Activation grids: the factorisation against scikit-learn's NMF called directly, the per-cell
objective against a hand-written dot * cos^p on captured activations, the renders against one
plain visualize call, pooling against a hand-written block mean, bad inputs before any work,
and the pictures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

import cnnwidgets as cw
from cnnwidgets.core import ParameterError
from cnnwidgets.engines import activation_grid as ag
from cnnwidgets.engines.activation_grid import (
    ActivationGridError,
    factorize,
    grid_activations,
    grid_shape,
    group_shares,
    position_direction,
)
from cnnwidgets.render import activation_grid as pictures

from .conftest import assert_left_as_found

# Renders are tiny (16 px, a few steps): a few seconds per test.
FAST = dict(steps=3, size=16)


@pytest.fixture(autouse=True)
def one_thread():
    """One image per forward pass is many tiny ops; with two threads on a machine whose cores
    other processes are using, each op waits for the other thread and the renders run up to
    100 times slower. One thread measures the same thing, fast."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def net():
    """Six ReLU channels at 8 x 8 after a stride-2 convolution, on 16-px inputs, fixed weights."""
    torch.manual_seed(0)
    module = torch.nn.Sequential()
    module.add_module("conv1", torch.nn.Conv2d(3, 5, 3, padding=1))
    module.add_module("relu1", torch.nn.ReLU())
    module.add_module("conv2", torch.nn.Conv2d(5, 6, 3, stride=2, padding=1))
    module.add_module("relu2", torch.nn.ReLU())
    module.add_module("pool", torch.nn.AdaptiveAvgPool2d(1))
    module.add_module("flatten", torch.nn.Flatten())
    module.add_module("fc", torch.nn.Linear(6, 3))
    return cw.load_model(module, labels=["a", "b", "c"], input_size=16, device="cpu")


def captured(model, layer, x):
    """The layer's output for input ``x``, read with a hook of our own (not the engines')."""
    out = {}
    handle = model.module_of(layer).register_forward_hook(
        lambda _m, _i, o: out.__setitem__("t", o.detach().clone())
    )
    try:
        with torch.no_grad():
            model.module(x)
    finally:
        handle.remove()
    return out["t"]


def sklearn_nmf(matrix, g):
    ref = NMF(n_components=g, init="nndsvda", max_iter=1000, tol=1e-4)
    w = ref.fit_transform(matrix)
    return w, ref.components_


def rel_error(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


# ---- NMF ---------------------------------------------------------------------------------------
def test_groups_reconstruct_as_well_as_sklearn_nmf_called_directly(net, cat):
    acts, _ = grid_activations(net, cat, "relu2")
    assert acts.shape == (8, 8, 6) and acts.min() >= 0
    f = factorize(acts, 3)
    ours = rel_error(acts.astype(np.float64), f.reconstruct())
    w, h = sklearn_nmf(acts.reshape(-1, 6).astype(np.float64), 3)
    ref = rel_error(acts.reshape(-1, 6).astype(np.float64), w @ h)
    assert ours == pytest.approx(ref, rel=1e-5, abs=1e-6)
    assert f.error == pytest.approx(ref, rel=1e-5)
    assert ours < 0.5  # three groups explain most of six channels
    # The same groups as sklearn's, up to order and scale: compare unit-norm directions.
    unit = h / np.linalg.norm(h, axis=1, keepdims=True)
    mine = f.directions / np.linalg.norm(f.directions, axis=1, keepdims=True)
    assert np.abs(mine @ unit.T).max(1) == pytest.approx(np.ones(3), abs=1e-5)
    # Maps scaled to a maximum of 1, strongest group first.
    assert f.maps.max(axis=(1, 2)) == pytest.approx(np.ones(3))
    energy = np.linalg.norm(f.maps.reshape(3, -1), axis=1) * np.linalg.norm(f.directions, axis=1)
    assert list(np.argsort(-energy)) == [0, 1, 2]
    # More groups explain more.
    assert factorize(acts, 5).error < f.error


def test_an_exactly_low_rank_non_negative_matrix_is_recovered():
    rng = np.random.default_rng(0)
    w0, h0 = rng.random((6, 5, 3)), rng.random((3, 10))
    acts = np.einsum("hwg,gc->hwc", w0, h0)
    f = factorize(acts, 3)
    assert f.error < 5e-3  # NMF stops at its tolerance, not at zero
    assert rel_error(acts, f.reconstruct()) < 5e-3
    assert factorize(acts, 2).error > 10 * f.error  # one group fewer cannot explain it
    assert f.maps.shape == (3, 6, 5) and f.directions.shape == (3, 10) and not f.split


def test_signed_activations_are_split_into_positive_and_negative_parts():
    rng = np.random.default_rng(1)
    acts = rng.normal(size=(4, 4, 5))
    f = factorize(acts, 3)
    split = np.concatenate([np.maximum(acts, 0), np.maximum(-acts, 0)], -1).reshape(16, 10)
    w, h = sklearn_nmf(split, 3)
    assert f.split and f.components.shape == (3, 10) and f.directions.shape == (3, 5)
    assert f.error == pytest.approx(rel_error(split, w @ h), rel=1e-5)
    # Directions are positive part minus negative part: maps @ directions approximates A itself.
    recon = np.einsum("gp,gc->pc", f.maps.reshape(3, 16), f.components)
    assert f.reconstruct().reshape(16, 5) == pytest.approx(recon[:, :5] - recon[:, 5:], abs=1e-5)
    with pytest.raises(ActivationGridError, match="after a ReLU"):
        factorize(acts, 3, signed="error")


def test_group_count_zero_and_above_the_rank():
    acts = np.random.default_rng(2).random((3, 3, 4))
    none = factorize(acts, 0)
    assert none.maps.shape == (0, 3, 3) and none.directions.shape == (0, 4)
    assert factorize(acts, 10).maps.shape == (4, 3, 3)  # at most min(cells, channels)
    with pytest.raises(ActivationGridError, match="zero at every position"):
        factorize(np.zeros((3, 3, 4)), 2)


def test_group_shares_sum_to_one_where_groups_are_active():
    maps = np.array([[[1.0, 0.0]], [[1.0, 0.0]]])
    directions = np.array([[3.0, 0.0], [0.0, 1.0]])
    assert group_shares(maps, directions, 0, 0) == pytest.approx([0.75, 0.25])
    assert group_shares(maps, directions, 0, 1) == pytest.approx([0, 0])


# ---- the objective -------------------------------------------------------------------------------
def hand_written(a, v, p):
    """lucid's _dot_cossim for one activation vector per image: a (N, C), v (C,)."""
    dot = (a * v).sum(1)
    if p == 0:
        return dot
    cos = dot / (1e-4 + np.sqrt((a * a).sum(1))) / (1e-4 + np.sqrt((v * v).sum()))
    return dot * np.maximum(cos, 0.1) ** p


@pytest.mark.parametrize("p", [0, 1, 2.5])
def test_position_objective_is_dot_times_floored_cosine_power(net, p):
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    t = captured(net, "relu2", x)
    assert t.shape == (4, 6, 8, 8)
    a = t.numpy()
    v = np.random.default_rng(4).normal(size=6).astype(np.float32)
    for y, xx in [(None, None), (0, 0), (7, 2), (3, 5)]:
        obj = position_direction("relu2", v, y, xx, cossim_pow=p)
        yy, xc = (4, 4) if y is None else (y, xx)
        want = hand_written(a[:, :, yy, xc].astype(np.float64), v.astype(np.float64), p)
        got = obj({"relu2": t}).numpy()
        assert got == pytest.approx(want, rel=1e-4, abs=1e-5)
    # A vector anti-aligned with the activations keeps the floor of 0.1 on the cosine.
    a0 = a[:, :, 1, 1].astype(np.float64)
    obj = position_direction("relu2", -a0[0], 1, 1, cossim_pow=p)
    assert obj({"relu2": t}).numpy()[0] == pytest.approx(
        -(a0[0] ** 2).sum() * (0.1**p if p else 1), rel=1e-4
    )


def test_position_objective_on_a_pooled_grid_reads_the_block_mean(net):
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    t = captured(net, "relu2", x)
    blocks = t.numpy().reshape(2, 6, 4, 2, 4, 2).mean((3, 5))  # 8 x 8 -> 4 x 4 by hand
    v = np.ones(6, np.float32)
    obj = position_direction("relu2", v, 2, 3, cossim_pow=1, grid=(4, 4))
    want = hand_written(blocks[:, :, 2, 3].astype(np.float64), v.astype(np.float64), 1)
    assert obj({"relu2": t}).numpy() == pytest.approx(want, rel=1e-4)


def test_each_cell_objective_targets_that_cells_activation_vector(net, cat):
    """At the photo's own activations, cell k's objective (at its own position) is
    |a_k|^2 * cos^p with cos = 1: the objectives are built from the right vectors."""
    run = ag.GridAscent(net, cat, "relu2", groups=2, steps=0, size=16, at="cell", seed=0)
    x = net.preprocess(cat)
    t = captured(net, "relu2", x)
    a = run.activations
    for r, c in [(0, 0), (3, 6), (7, 7)]:
        obj = run.cell_objectives[r * 8 + c]
        norm = float(np.linalg.norm(a[r, c]))
        cos = max(norm**2 / (1e-4 + norm) ** 2, 0.1)  # ~1: the vector is the activation
        assert float(obj({"relu2": t})[0]) == pytest.approx(norm**2 * cos, rel=1e-4)
    assert np.allclose(a, t[0].permute(1, 2, 0).numpy(), atol=1e-6)


# ---- the renders ---------------------------------------------------------------------------------
def test_grid_images_are_the_images_of_one_visualize_call(net, cat):
    g = cw.activation_grid(net, cat, "relu2", groups=2, max_cells=16, seed=11, **FAST)
    assert g.activations.shape == (4, 4, 6)
    assert g.images.shape == (4, 4, 16, 16, 3) and g.values.shape == (4, 4)
    assert g.groups.maps.shape == (2, 4, 4) and g.groups.directions.shape == (2, 6)
    assert g.groups.images.shape == (2, 16, 16, 3)
    assert g.layer == "relu2" and g.settings["seed"] == 11 and g.settings["group_seed"] == 12
    cells = [
        position_direction("relu2", g.activations[r, c], cossim_pow=1)
        for r in range(4)
        for c in range(4)
    ]
    ref = cw.visualize(net, cells, seed=11, input_size=16, **FAST)
    np.testing.assert_allclose(np.asarray(ref).reshape(4, 4, 16, 16, 3), g.images, atol=1e-6)
    assert ref.objective_values.reshape(4, 4) == pytest.approx(g.values, rel=1e-5, abs=1e-6)
    groups = [position_direction("relu2", d, cossim_pow=1) for d in g.groups.directions]
    ref_g = cw.visualize(net, groups, seed=12, input_size=16, **FAST)
    np.testing.assert_allclose(np.asarray(ref_g), g.groups.images, atol=1e-6)


def test_batched_renders_equal_one_image_per_forward_pass(net, cat):
    one = cw.activation_grid(net, cat, "relu2", groups=2, max_cells=9, seed=3, chunk=1, **FAST)
    all_ = cw.activation_grid(net, cat, "relu2", groups=2, max_cells=9, seed=3, chunk=64, **FAST)
    np.testing.assert_allclose(one.images, all_.images, atol=1e-5)
    np.testing.assert_allclose(one.groups.images, all_.groups.images, atol=1e-5)


def test_renders_raise_their_objective(net, cat):
    g0 = cw.activation_grid(net, cat, "relu2", groups=2, max_cells=4, seed=0, steps=0, size=16)
    g = cw.activation_grid(net, cat, "relu2", groups=2, max_cells=4, seed=0, steps=24, size=16)
    assert g.values.mean() > g0.values.mean()
    assert g.groups.values.mean() > g0.groups.values.mean()


def test_cell_size_resamples_the_returned_images(net, cat):
    g = cw.activation_grid(net, cat, "relu2", groups=1, max_cells=4, seed=0, cell_size=8, **FAST)
    full = cw.activation_grid(net, cat, "relu2", groups=1, max_cells=4, seed=0, **FAST)
    assert g.images.shape == (2, 2, 8, 8, 3) and g.groups.images.shape == (1, 8, 8, 3)
    # Area-averaged: each 2 x 2 block of the 16-px image becomes one pixel.
    blocks = full.images.reshape(2, 2, 8, 2, 8, 2, 3).mean((3, 5))
    np.testing.assert_allclose(g.images, blocks, atol=1e-5)


def test_at_cell_renders_at_the_models_input_size(net, cat):
    g = cw.activation_grid(net, cat, "relu2", groups=0, max_cells=4, at="cell", seed=0, **FAST)
    assert g.settings["at"] == "cell" and g.settings["input_size"] == (16, 16)
    assert g.settings["grid"] == (2, 2) and g.settings["layer_shape"] == (8, 8)
    with pytest.raises(ParameterError, match="model's input size"):
        cw.activation_grid(net, cat, "relu2", at="cell", input_size=32, **FAST)


def test_stream_steps_both_batches_and_stops(net, cat):
    import threading

    stop = threading.Event()
    run = cw.activation_grid(
        net, cat, "relu2", groups=2, max_cells=4, seed=0, steps=50, size=16, stream=True
    )
    run.stop_event = stop
    frames = []
    for frame in run:
        frames.append(frame)
        if frame.step == 3:
            stop.set()
    assert [f.step for f in frames] == [1, 2, 3]
    assert all(f.groups is not None and f.groups.step == f.step for f in frames)
    assert run.cell_images(frames[-1].cells.images).shape == (2, 2, 16, 16, 3)
    assert run.result().settings["steps_done"] == 3


def test_model_left_as_found(lived_in_tiny_cnn, cat):
    model, before = lived_in_tiny_cnn
    cw.activation_grid(model, cat, "relu2", groups=2, max_cells=4, seed=0, **FAST)
    assert_left_as_found(before, model)


# ---- pooling -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "h, w, cap, want",
    [
        (7, 7, 64, (7, 7)),
        (14, 14, 64, (8, 8)),
        (56, 56, 64, (8, 8)),
        (28, 14, 64, (11, 5)),
        (3, 50, 16, (1, 16)),
        (16, 16, 1, (1, 1)),
    ],
)
def test_grid_shape(h, w, cap, want):
    got = grid_shape(h, w, cap)
    assert got == want and got[0] * got[1] <= cap


def test_large_layers_are_pooled_to_the_block_mean(net, cat):
    acts, layer_hw = grid_activations(net, cat, "relu1", max_cells=64)
    maps = cw.feature_maps(net, cat, "relu1")  # (5, 16, 16)
    assert layer_hw == (16, 16) and acts.shape == (8, 8, 5)
    by_hand = maps.reshape(5, 8, 2, 8, 2).mean((2, 4)).transpose(1, 2, 0)
    np.testing.assert_allclose(acts, by_hand, atol=1e-6)


# ---- bad inputs ----------------------------------------------------------------------------------
@pytest.fixture()
def no_work(monkeypatch):
    """Fails if a forward pass or a render starts."""

    def forbidden(*_a, **_k):
        raise AssertionError("work started before the input was refused")

    monkeypatch.setattr(ag, "feature_maps", forbidden)
    monkeypatch.setattr(ag, "Ascent", forbidden)


def test_a_layer_without_spatial_extent_is_refused_before_any_work(net, cat, no_work):
    for layer in ("fc", "pool"):
        with pytest.raises(ActivationGridError, match="spatial"):
            cw.activation_grid(net, cat, layer)
    with pytest.raises(cw.LayerNotFoundError):
        cw.activation_grid(net, cat, "relu9")


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"groups": -1}, "groups"),
        ({"groups": 2.5}, "groups"),
        ({"max_cells": 0}, "max_cells"),
        ({"at": "corner"}, "at must be"),
        ({"signed": "clip"}, "signed"),
        ({"size": 4}, "size"),
        ({"cell_size": 0}, "cell_size"),
        ({"cossim_pow": -1}, "cossim_pow"),
    ],
)
def test_bad_settings_are_refused_before_any_work(net, cat, no_work, settings, match):
    with pytest.raises(ParameterError, match=match):
        cw.activation_grid(net, cat, "relu2", **settings)


def test_an_image_that_does_not_load_is_refused_before_rendering(net, monkeypatch, tmp_path):
    monkeypatch.setattr(ag, "Ascent", lambda *a, **k: pytest.fail("rendering started"))
    bad = tmp_path / "notes.txt"
    bad.write_text("not pixels")
    with pytest.raises(cw.ImageLoadError):
        cw.activation_grid(net, str(bad), "relu2")
    with pytest.raises(FileNotFoundError, match="no bundled sample"):
        cw.activation_grid(net, "no-such-sample-image", "relu2")


def test_signed_layers_refused_on_request(net, cat):
    with pytest.raises(ActivationGridError, match="after a ReLU"):
        cw.activation_grid(net, cat, "conv2", signed="error", **FAST)
    g = cw.activation_grid(net, cat, "conv2", groups=2, max_cells=4, seed=0, **FAST)
    assert g.settings["split"] and g.groups.directions.shape == (2, 6)


# ---- pictures ------------------------------------------------------------------------------------
def test_grid_picture_draws_lines_and_frames_the_chosen_cell():
    photo = np.zeros((40, 80, 3), np.float32)
    out = pictures.grid_picture(photo, 2, 4, (1, 2))
    assert out.shape == (40, 80, 3)
    assert out[20, 5] == pytest.approx([0.55] * 3)  # a row boundary: white at 55 %
    assert out[5, 20] == pytest.approx([0.55] * 3)  # a column boundary
    assert out[5, 5] == pytest.approx([0, 0, 0])  # inside a cell: the photo
    assert out[21, 41] == pytest.approx(pictures.HIGHLIGHT)  # the chosen cell's frame
    assert out[30, 50] == pytest.approx([0, 0, 0])  # its inside
    assert pictures.grid_picture(photo, 2, 4, side=160).shape == (80, 160, 3)


def test_mosaic_puts_each_cell_in_its_place():
    cells = np.zeros((2, 3, 4, 4, 3), np.float32)
    cells[1, 2] = 1.0
    cells[0, 1, ..., 0] = 0.5
    out = pictures.mosaic(cells, pad=1)
    assert out.shape == (2 * 5 + 1, 3 * 5 + 1, 3)
    assert out[1 + 5 + 1, 1 + 10 + 1] == pytest.approx([1, 1, 1])
    assert out[2, 1 + 5 + 1] == pytest.approx([0.5, 0, 0])
    assert out[2, 2] == pytest.approx([0, 0, 0])
    assert pictures.mosaic(cells, tile=8).shape == (2 * 9 + 1, 3 * 9 + 1, 3)
    framed = pictures.mosaic(cells, pad=1, selected=(0, 0))
    assert framed[0, 0] == pytest.approx(pictures.HIGHLIGHT)


def test_groups_overlay_colours_where_each_group_is_active():
    photo = np.full((20, 20, 3), 0.5, np.float32)
    maps = np.zeros((2, 2, 2), np.float32)
    maps[0, 0, 0] = 1.0  # group 0 top-left, group 1 bottom-right
    maps[1, 1, 1] = 1.0
    colors = np.array([[1, 0, 0], [0, 0, 1]], np.float32)
    out = pictures.groups_overlay(photo, maps, colors, alpha=1.0)
    assert out[0, 0] == pytest.approx([1, 0, 0], abs=1e-5)
    assert out[19, 19] == pytest.approx([0, 0, 1], abs=1e-5)
    assert out[0, 19] == pytest.approx([0.5, 0.5, 0.5], abs=1e-5)  # no group: the grey photo
    assert pictures.groups_overlay(photo, np.zeros((0, 2, 2))).shape == (20, 20, 3)


def test_groups_strip_has_a_tile_a_colour_bar_and_a_map_per_group():
    images = np.zeros((3, 8, 8, 3), np.float32)
    maps = np.ones((3, 2, 2), np.float32)
    out = pictures.groups_strip(images, maps, tile=8, bar=2, pad=2)
    assert out.shape == (2 + 8 + 2 + 2 + 8 + 2, 3 * 10 + 2, 3)
    colors = pictures.group_colors(3)
    assert out[2 + 8, 2 + 10] == pytest.approx(colors[1])  # group 1's bar
    assert out[2 + 8 + 2 + 2 + 1, 2 + 20 + 1] == pytest.approx(colors[2])  # its map, full on
