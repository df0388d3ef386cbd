"""Faults injected where they hurt: inside a forward hook (every engine), inside a widget's
recompute, inside a background worker. Afterwards the model is as it was found, the widget
shows the error and keeps working, and no thread is left behind."""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import pytest
import torch

import cnnwidgets as cw
from cnnwidgets.engines.spectrum.receptive_field import receptive_field

from .conftest import assert_left_as_found, model_snapshot


class Injected(RuntimeError):
    """The fault this test injects (nothing in the library raises it)."""


@contextlib.contextmanager
def fault(module, after: int = 0):
    """A forward hook on ``module`` that raises :class:`Injected` once it has let ``after``
    calls through; removed on exit. Yields the state (``armed`` to switch it off)."""
    state = {"calls": 0, "armed": True}

    def hook(_mod, _inp, _out):
        state["calls"] += 1
        if state["armed"] and state["calls"] > after:
            raise Injected(f"injected fault in the forward hook of {type(_mod).__name__}")

    handle = module.register_forward_hook(hook)
    try:
        yield state
    finally:
        handle.remove()


def _image():
    return np.random.default_rng(1).integers(0, 256, (20, 24, 3), dtype=np.uint8)


def _x(n=2):
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(2))


ENGINE_CALLS = {
    "feature_maps": lambda m: cw.feature_maps(m, _x(), "relu2"),
    "cam gradcam": lambda m: cw.cam(m, _x(), "conv2"),
    "cam scorecam": lambda m: cw.cam(m, _x(), "conv2", method="scorecam"),
    "cam smoothgrad": lambda m: cw.cam(m, _x(), "conv2", method="smoothgrad", n_samples=3),
    "saliency gradient": lambda m: cw.saliency(m, _x()),
    "saliency integrated_gradients": lambda m: cw.saliency(
        m, _x(), method="integrated_gradients", steps=4
    ),
    "saliency guided_backprop": lambda m: cw.saliency(m, _x(), method="guided_backprop"),
    "predict": lambda m: m.predict(_x()),
    "visualize": lambda m: cw.visualize(m, "conv2:1", steps=3, size=16),
    "spectrum": lambda m: cw.ActivationSpectrum(m, "conv2", [0, 1], k=2).update(_x()),
    "receptive_field": lambda m: receptive_field(m, "conv2", mass=0.5),
}


@pytest.mark.parametrize("where", ["conv1", "conv2"])
@pytest.mark.parametrize("engine", list(ENGINE_CALLS))
def test_a_fault_in_a_forward_hook_leaves_the_model_as_found(lived_in_tiny_cnn, engine, where):
    m, _ = lived_in_tiny_cnn
    assert m.layers  # the probe forward pass, before the fault
    before = model_snapshot(m)
    with fault(m.module.get_submodule(where)), pytest.raises(Injected):
        ENGINE_CALLS[engine](m)
    assert_left_as_found(before, m)
    # The model's lock was released: a call from another thread gets through.
    done = threading.Event()
    threading.Thread(target=lambda: (cw.feature_maps(m, _x(1), "conv1"), done.set())).start()
    assert done.wait(30), "the model's lock is still held after the fault"
    assert_left_as_found(before, m)


def test_a_fault_mid_update_leaves_the_tracker_unchanged(tiny_cnn):
    s = cw.ActivationSpectrum(tiny_cnn, "conv2", [0, 1], k=2).update(_x(3))
    state = s.state_dict()
    with fault(tiny_cnn.module.conv1), pytest.raises(Injected):
        s.update(_x(2), ids=["p", "q"])
    assert s.images_seen == 3
    for name, col in s.state_dict()["columns"].items():
        for key, t in col.items():
            assert torch.equal(t, state["columns"][name][key]), (name, key)
    s.update(_x(2), ids=["p", "q"])  # the refused ids were never counted
    assert s.images_seen == 5


def test_a_fault_in_training_releases_the_model(tiny_cnn, no_thread_leak):
    data = torch.utils.data.TensorDataset(_x(8), torch.randint(0, 5, (8,)))
    modes = [mod.training for mod in tiny_cnn.module.modules()]
    with fault(tiny_cnn.module.conv2, after=1), pytest.raises(Injected):
        cw.train(tiny_cnn, data, epochs=1, batch_size=4, progress=False)
    assert [mod.training for mod in tiny_cnn.module.modules()] == modes
    assert all(p.grad is None for p in tiny_cnn.module.parameters())
    assert model_snapshot(tiny_cnn)["hooks"] == 0
    cw.train(tiny_cnn, data, epochs=1, batch_size=4, progress=False)


VIEWERS = {
    "GradCAMViewer": (lambda m: cw.GradCAMViewer(m, _image()), "layer", "conv2"),
    "SaliencyViewer": (lambda m: cw.SaliencyViewer(m, _image()), "method", "gradient_x_input"),
    "FeatureMapViewer": (lambda m: cw.FeatureMapViewer(m, _image()), "layer", "conv2"),
}


@pytest.mark.parametrize("name", list(VIEWERS))
def test_a_fault_in_a_recompute_is_shown_and_the_widget_keeps_working(
    name, lived_in_tiny_cnn, no_thread_leak
):
    m, _ = lived_in_tiny_cnn
    make, control, value = VIEWERS[name]
    w = make(m)
    try:
        assert w.error == ""
        before, view = model_snapshot(m), w.view
        with fault(m.module.conv1) as state:
            setattr(w, control, value)
            w.flush()
            assert "Injected" in w.error and "injected fault" in w.error, w.error
            assert w.view == view  # the last good picture stays
            assert not w.busy
            state["armed"] = False
        assert_left_as_found(before, m)
        w.set_image(_image()[::-1].copy())
        w.flush()
        assert w.error == "" and w.view != view
    finally:
        w.close()
    assert model_snapshot(m)["hooks"] == 0


def test_a_fault_while_drawing_is_shown_and_the_next_draw_works(tiny_cnn, monkeypatch):
    from cnnwidgets.widgets import feature_maps as fmv

    w = cw.FeatureMapViewer(tiny_cnn, _image())
    try:
        real = fmv.to_png

        def broken(*a, **k):
            raise Injected("injected fault while encoding the picture")

        monkeypatch.setattr(fmv, "to_png", broken)
        w.colormap = "gray"
        assert "injected fault while encoding" in w.error
        monkeypatch.setattr(fmv, "to_png", real)
        w.colormap = "magma"
        assert w.error == ""
    finally:
        w.close()


def _background(name, m):
    if name == "FeatureVisualizer":
        return cw.FeatureVisualizer(m, "conv2", 0, steps=20, size=16), m.module.conv1
    if name == "SpectrumViewer":
        data = _x(12)
        return (
            cw.SpectrumViewer(
                m, "conv2", data, channels=[0, 1], k=2, batch_size=4, autostart=False
            ),
            m.module.conv1,
        )
    data = torch.utils.data.TensorDataset(_x(12), torch.randint(0, 5, (12,)))
    return cw.TrainingMonitor(m, data, epochs=1, batch_size=4), m.module.conv2


@pytest.mark.parametrize("name", ["FeatureVisualizer", "SpectrumViewer", "TrainingMonitor"])
def test_a_fault_in_a_background_worker(name, tiny_cnn, no_thread_leak):
    w, where = _background(name, tiny_cnn)
    try:
        modes = [mod.training for mod in tiny_cnn.module.modules()]
        flags = [p.requires_grad for p in tiny_cnn.module.parameters()]
        with fault(where, after=2):
            w.run(raise_error=False)
        assert "Injected" in w.error, w.error
        assert not w.running and not w.is_alive
        assert [mod.training for mod in tiny_cnn.module.modules()] == modes
        assert [p.requires_grad for p in tiny_cnn.module.parameters()] == flags
        assert model_snapshot(tiny_cnn)["hooks"] == 0
        w.run()  # and again, without the fault: it works
        assert w.error == ""
    finally:
        w.close()


def test_a_fault_while_publishing_a_frame(tiny_cnn, monkeypatch, no_thread_leak):
    from cnnwidgets.widgets import feature_visualizer as fvw

    w = cw.FeatureVisualizer(tiny_cnn, "conv2", 0, steps=5, size=16)
    try:
        real = fvw.to_png

        def broken(*a, **k):
            raise Injected("injected fault while publishing a frame")

        monkeypatch.setattr(fvw, "to_png", broken)
        w.run(raise_error=False)
        assert "injected fault while publishing" in w.error
        assert not w.running and not w.is_alive
        monkeypatch.setattr(fvw, "to_png", real)
        w.run()
        assert w.error == "" and w.result is not None
    finally:
        w.close()
    assert model_snapshot(tiny_cnn)["hooks"] == 0
