"""The six-column Distill figure, and logging scans and figures to Weights & Biases (offline)."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

import cnnwidgets as cw
from cnnwidgets.render.distill import COLUMN_TITLES, distill_figure, spectrum_figure
from cnnwidgets.render.images import figure_png


@pytest.fixture()
def spectrum(tiny_cnn):
    x = torch.randn(20, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    return cw.ActivationSpectrum(tiny_cnn, "conv2", [1, 3], k=3).update(x)


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def test_figure_has_six_titled_columns_with_the_examples_in_order(spectrum):
    rng = np.random.default_rng(0)
    neg, pos = rng.random((2, 24, 24, 3)), (rng.random((3, 24, 24, 3)) * 255).astype(np.uint8)
    ex = spectrum.examples(3)
    fig = distill_figure(ex, neg, pos, title="conv2:3")
    axes = _image_axes(fig)
    assert len(axes) == 6 * 3  # rows = the longest column
    titles = [ax.get_title() for ax in axes if ax.get_title()]
    assert titles == [label for _, label in COLUMN_TITLES]
    # axes are added column by column, row by row: check the pictures they hold
    by_col = [axes[c * 3 : (c + 1) * 3] for c in range(6)]
    np.testing.assert_allclose(by_col[0][1].images[0].get_array(), neg[1], atol=1e-6)
    np.testing.assert_allclose(by_col[5][2].images[0].get_array(), pos[2] / 255, atol=1e-6)
    for c, key in ((1, "min"), (2, "slightly_negative"), (3, "slightly_positive"), (4, "max")):
        for r, e in enumerate(ex[key]):
            np.testing.assert_allclose(by_col[c][r].images[0].get_array(), e.crop / 255, atol=1e-6)
            assert by_col[c][r].get_xlabel() == f"{e.value:.3g}"
    assert fig._suptitle.get_text() == "conv2:3"


def test_png_is_a_readable_picture_and_empty_columns_are_marked(spectrum):
    fig = spectrum_figure(spectrum, 1, rows=2)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("none") == 2  # both optimized columns
    png = figure_png(fig, dpi=80)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size[0] > img.size[1] > 100
    assert "20 images" in fig._suptitle.get_text()


def test_figure_validates_its_inputs(spectrum):
    ex = spectrum.examples(1)
    with pytest.raises(ValueError, match="lack"):
        distill_figure({"max": ex["max"]})
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        distill_figure(ex, np.zeros((2, 8, 8, 5)))
    with pytest.raises(ValueError, match="NaN"):
        distill_figure(ex, None, np.full((1, 8, 8, 3), np.nan))


def test_optimized_pair_renders_both_signs_in_one_batch(spectrum, monkeypatch):
    import cnnwidgets.engines.featureviz.gradient_ascent as fv

    calls = []

    def fake_visualize(model, objectives, **kwargs):
        calls.append((objectives, kwargs))
        return np.stack(
            [np.full((8, 8, 3), 0.25 if o.startswith("-") else 0.75) for o in objectives]
        ).astype(np.float32)

    monkeypatch.setattr(fv, "visualize", fake_visualize)
    pair = fv.optimized_pair(spectrum.model, spectrum.layer, 3, steps=3)
    assert calls == [(["-conv2:3", "conv2:3"], {"steps": 3})]
    fig = spectrum_figure(spectrum, 3, optimized=pair)
    axes = _image_axes(fig)
    n = len(axes) // 6
    assert float(axes[0].images[0].get_array().mean()) == pytest.approx(0.25)
    assert float(axes[5 * n].images[0].get_array().mean()) == pytest.approx(0.75)
    with pytest.raises(TypeError, match="optimized_pair"):
        spectrum_figure(spectrum, 3, optimized=True)


def test_log_spectrum_to_wandb_offline(spectrum, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    from cnnwidgets.integrations import wandb as cw_wandb

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="wandb.init"):
        cw_wandb.log_spectrum(spectrum)
    run = wandb.init(project="cnnwidgets-tests", dir=str(tmp_path), mode="offline")
    try:
        cw_wandb.log_spectrum(spectrum, [3], optimized=False)
        cw_wandb.log_figure(np.zeros((8, 8, 3)), "blank")
        table = cw_wandb.spectrum_table(spectrum, [3])
        n_examples = sum(len(v) for v in spectrum.examples(3).values())
        assert len(table.data) == n_examples
        assert table.data[0][:2] == [3, "min"]
        run_dir = run.dir
    finally:
        run.finish()
    media = [f for root, _, files in os.walk(run_dir) for f in files if f.endswith(".png")]
    assert any("channel_3" in f for f in media) and any("blank" in f for f in media)
