"""ActivationGridViewer: traits and pictures at construction, run() against the engine called
directly, a new cell re-drawn from the renders without computing, Stop, close, bad input."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from traitlets import TraitError

import cnnwidgets as cw
from cnnwidgets.render import resize
from cnnwidgets.widgets import WidgetError
from cnnwidgets.widgets import activation_grid as module
from cnnwidgets.widgets.activation_grid import ActivationGridViewer

SETTINGS = dict(steps=3, size=16, seed=4)


@pytest.fixture(autouse=True)
def one_thread():
    """See tests/test_activation_grid.py: per-image passes on a busy machine need one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def net():
    """ReLU layers of 16 x 16 (pooled to 8 x 8) and 8 x 8 on 16-px inputs, fixed weights."""
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


@pytest.fixture()
def counted(monkeypatch):
    """Counts the engine runs the widget makes and the steps they take."""
    calls = {"runs": 0, "steps": 0}

    class Counting(module.GridAscent):
        def __init__(self, *a, **k):
            calls["runs"] += 1
            super().__init__(*a, **k)

        def __next__(self):
            frame = super().__next__()
            calls["steps"] += 1
            return frame

    monkeypatch.setattr(module, "GridAscent", Counting)
    return calls


def picture(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32) / 255


def test_construction_shows_the_grid_and_the_groups_before_any_render(net, cat, no_thread_leak):
    w = ActivationGridViewer(net, cat, "relu2", groups=3, **SETTINGS)
    assert w.error == "" and not w.running and w.result is None
    assert w.layer_options == ["conv1", "relu1", "conv2", "relu2"]
    assert w.grid_layout == {"nrows": 8, "ncols": 8, "layer_shape": [8, 8]}
    assert w.cell == [4, 4]  # the centre
    assert w.n_groups == 3 and "press Start" in w.status
    assert w.view[:3] == b"\xff\xd8\xff" and w.groups[:3] == b"\xff\xd8\xff"
    for pic in (w.mosaic, w.detail, w.strip):
        assert pic.startswith(b"\x89PNG")
    assert "row 4, col 4 of 8×8" in w.caption and "starting noise" in w.caption
    assert ActivationGridViewer(net, cat, **SETTINGS).layer == "relu2"  # the last spatial layer
    w.close()


def test_run_renders_what_the_engine_renders(net, cat, no_thread_leak):
    w = ActivationGridViewer(net, cat, "relu1", groups=2, **SETTINGS)
    before = (w.mosaic, w.detail, w.strip)
    w.run()
    assert w.error == "" and not w.running and w.progress == 1.0
    assert w.status == "done after 3 steps"
    assert (w.mosaic, w.detail, w.strip) != before
    direct = cw.activation_grid(net, cat, "relu1", 2, max_cells=64, **SETTINGS)
    r = w.result
    assert r.images.shape == (8, 8, 16, 16, 3) and r.settings["layer_shape"] == (16, 16)
    np.testing.assert_allclose(r.images, direct.images, atol=1e-6)
    np.testing.assert_allclose(r.groups.images, direct.groups.images, atol=1e-6)
    # The enlarged cell is the rendered image of the chosen cell.
    r0, c0 = w.cell
    want = resize(r.images[r0, c0], picture(w.detail).shape[:2])
    np.testing.assert_allclose(picture(w.detail), want, atol=2 / 255)
    assert "starting noise" not in w.caption
    w.close()


def test_a_new_cell_is_drawn_from_the_renders_without_computing(net, cat, counted, no_thread_leak):
    w = ActivationGridViewer(net, cat, "relu2", groups=2, **SETTINGS)
    w.run()
    runs, steps = counted["runs"], counted["steps"]
    assert steps == 3
    shown = {(w.view, w.mosaic, w.detail)}
    for cell in ([0, 0], [7, 3], [2, 6]):
        w.cell = cell
        assert w.error == ""
        shown.add((w.view, w.mosaic, w.detail))
        want = resize(w.result.images[cell[0], cell[1]], picture(w.detail).shape[:2])
        np.testing.assert_allclose(picture(w.detail), want, atol=2 / 255)
        assert f"row {cell[0]}, col {cell[1]}" in w.caption
    assert len(shown) == 4  # every cell drew its own pictures
    assert (counted["runs"], counted["steps"]) == (runs, steps)
    w.cell = [8, 0]  # outside the 8 x 8 grid
    assert "outside the 8 x 8 grid" in w.error
    w.cell = [1, 1]
    assert w.error == ""
    w.close()


def test_controls_recompute_the_groups_and_forget_old_renders(net, cat, no_thread_leak):
    w = ActivationGridViewer(net, cat, "relu2", groups=2, **SETTINGS)
    w.run()
    groups, strip = w.groups, w.strip
    w.n_groups = 4
    w.flush()
    assert w.error == "" and w.groups != groups and w.strip != strip
    assert w.result is None and "press Start" in w.status
    w.n_groups = 0
    w.flush()
    assert w.error == ""
    with pytest.raises(TraitError):
        w.n_groups = 13
    w.layer = "relu1"
    w.flush()
    assert w.grid_layout["layer_shape"] == [16, 16] and w.grid_layout["nrows"] == 8
    w.layer = "fc"
    w.flush()
    assert "spatial" in w.error
    w.layer = "conv2"  # signed: NMF of the positive and negative parts
    w.flush()
    assert w.error == ""
    w.run()
    assert w.result.settings["split"] and w.result.layer == "conv2"
    w.close()


def test_stop_ends_the_renders_within_a_step_and_close_leaves_no_thread(net, cat, no_thread_leak):
    w = ActivationGridViewer(net, cat, "relu2", groups=2, steps=100000, size=16)
    stepped = threading.Event()
    w.observe(lambda _: stepped.set(), "progress")
    w.start()
    assert stepped.wait(60) and w.running
    w.stop()
    assert not w.running and not w.is_alive
    assert 0 < w.result.settings["steps_done"] < 100000 and w.status.startswith("stopped")
    # Closing while it renders stops the thread too.
    w.start()
    w.close()
    assert not w.is_alive


def test_bad_input(net, cat, tmp_path, no_thread_leak):
    bad = tmp_path / "notes.txt"
    bad.write_text("not pixels")
    with pytest.raises(cw.ImageLoadError):
        ActivationGridViewer(net, str(bad), **SETTINGS)
    w = ActivationGridViewer(net, cat, "relu2", groups=2, **SETTINGS)
    assert not w.set_image(str(bad)) and w.error
    assert w.set_image("coffee")
    w.flush()
    assert w.error == ""
    w.layer = "fc"
    w.flush()
    with pytest.raises(WidgetError, match="spatial"):
        w.run()
    assert not w.is_alive
    w.close()
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 2))
    with pytest.raises(ValueError, match="no layer with a spatial output"):
        ActivationGridViewer(cw.load_model(flat, input_size=16, device="cpu"), cat)


def test_fits_a_lecture_screen(net, cat, no_thread_leak):
    """The pictures of one row (photo, mosaic, enlarged cell) and of the groups row leave room
    for the controls on a 1280 x 720 screen (the e2e test measures the whole widget)."""
    w = ActivationGridViewer(net, cat, "relu1", groups=12, **SETTINGS)
    sizes = {k: picture(getattr(w, k)).shape[:2] for k in ("view", "mosaic", "detail")}
    row1 = sum(s[1] for s in sizes.values())
    assert row1 <= 900 and max(s[0] for s in sizes.values()) <= 280
    g, s = picture(w.groups).shape[:2], picture(w.strip).shape[:2]
    assert g[1] + s[1] <= 1200 and max(g[0], s[0]) <= 200
    w.close()
