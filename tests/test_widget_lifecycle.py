"""Every widget, from construction to garbage: change every control, close (twice), drop it.

After ``close()`` and ``del`` a widget and everything it holds must be collectable, and the
process must be back where it started: no thread left, no hook on the model, no widget left in
ipywidgets' registry (bqplot scales, axes and lines included), close() twice is fine.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest
import torch
from ipywidgets import Widget
from traitlets import Bool, Bytes, Dict, Float, Int

import cnnwidgets as cw
from cnnwidgets.widgets.base import BackgroundWidget, CNNWidget

from .conftest import model_snapshot

# Synced traits that the widgets write for the front end (pictures, text, state); every other
# public synced trait is a control, and the test must know how to change it.
OUTPUTS = {
    "view",
    "error",
    "busy",
    "running",
    "progress",
    "status",
    "photo",
    "detail",
    "caption",
    "grid_layout",
    "weights",
    "predictions",
    "images_seen",
    "epoch",
    "step",
    "loss",
    "accuracy",
    "val_accuracy",
    "input_view",
    "cell",
    "equation",
    "formula",
    "formula_latex",
    "shapes",
    "values",
    "faithfulness",
    "compare",
    "compare_skipped",
    "scoring",
    "sanity_correlation",
    "mosaic",
    "groups",
    "history",
    "connections",
    "connections_title",
    "legend_labels",
    "readout",
}
DERIVED = ("_options", "_max", "_min", "_params", "_help")
# Shown, not edited: the layer a SpectrumViewer scans is fixed (setting it raises).
FIXED = {"SpectrumViewer": {"layer"}}

# Values for controls that no generic rule covers, and ones that keep a run short.
CHOICES = {
    "objective": "conv2:1, conv1:2",
    "colormap": "viridis",
    "steps": 3,
    "size": 20,
    "epochs": 1,
    "optimized_steps": 2,
    "kernel": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "kernel_size": 3,
    "search": "1",
}


def controls(w) -> list[str]:
    base = set(CNNWidget.class_trait_names(sync=True)) | set(
        BackgroundWidget.class_trait_names(sync=True)
    )
    names = [
        n
        for n in w.trait_names(sync=True)
        if not n.startswith("_")
        and n not in base
        and n not in OUTPUTS
        and n not in FIXED.get(type(w).__name__, ())
    ]
    # Bytes traits are pictures the kernel draws, never controls.
    return sorted(
        n for n in names if not n.endswith(DERIVED) and not isinstance(w.traits()[n], Bytes)
    )


def new_value(w, name):
    """A valid value for control ``name`` that differs from the current one."""
    cur = getattr(w, name)
    trait = w.traits()[name]
    if name in CHOICES and CHOICES[name] != cur:
        return CHOICES[name]
    options = getattr(w, f"{name}_options", None)
    if options:
        values = [o[1] if isinstance(o, (list, tuple)) else o for o in options]
        others = [v for v in values if v != cur and v != "custom"]
        if others:
            return others[-1]
    if isinstance(trait, Bool):
        return not cur
    if isinstance(trait, Int):
        hi = getattr(w, f"{name}_max", None)
        lo = getattr(w, f"{name}_min", trait.min if trait.min is not None else 0)
        if hi is not None:
            return cur + 1 if cur + 1 <= hi else max(lo, cur - 1)
        return cur + 1
    if isinstance(trait, Float):
        hi = trait.max if trait.max is not None else float("inf")
        step = 0.1 if cur is None or abs(cur) < 1 else cur
        base = 0.0 if cur is None else cur
        return base + step if base + step <= hi else base - step
    if isinstance(trait, Dict):
        return {k: (v * 1.1 if isinstance(v, float) else v) for k, v in cur.items()}
    raise AssertionError(
        f"{type(w).__name__}.{name} ({type(trait).__name__}): no rule to change this control; "
        "add one to CHOICES"
    )


def _image():
    return np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.utils.data.TensorDataset(
        torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 5, (8,), generator=g)
    )


FACTORIES = {
    "FilterViewer": lambda m: cw.FilterViewer(m),
    "FeatureMapViewer": lambda m: cw.FeatureMapViewer(m, _image()),
    "SaliencyViewer": lambda m: cw.SaliencyViewer(m, _image()),
    "GradCAMViewer": lambda m: cw.GradCAMViewer(m, _image()),
    "FeatureVisualizer": lambda m: cw.FeatureVisualizer(m, "conv2", 0, steps=3, size=16),
    "SpectrumViewer": lambda m: cw.SpectrumViewer(
        m, "conv2", torch.randn(6, 3, 16, 16), channels=[0, 1], k=2, autostart=False
    ),
    "TrainingMonitor": lambda m: cw.TrainingMonitor(m, _data(), epochs=1, batch_size=4),
    "ConvolutionExplorer": lambda m: cw.ConvolutionExplorer(size=12),
    "Explorer": lambda m: cw.Explorer(m, _image()),
    "ActivationGridViewer": lambda m: cw.ActivationGridViewer(
        m, _image(), layer="conv2", groups=2, steps=2, size=16
    ),
    "AtlasViewer": lambda m: cw.AtlasViewer(_atlas(m)),
}


def _atlas(m):
    """A tiny atlas of the test model (two channels of conv2, a few images, two steps)."""
    import tempfile

    out = tempfile.mkdtemp(prefix="cnnw-lifecycle-atlas-")
    data = [(_image(), i) for i in range(4)]
    return cw.build_atlas(
        m, out, ["conv1", "conv2"], channels=[0, 1], data=data, k=2, steps=2, size=16,
        batch_size=4, progress=False,
    )  # fmt: skip


def test_every_widget_class_is_covered():
    public = {
        name
        for name in cw.__all__
        if isinstance(getattr(cw, name), type) and issubclass(getattr(cw, name), CNNWidget)
    }
    assert public == set(FACTORIES)


def _settle(before_threads, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        extra = [t for t in threading.enumerate() if t not in before_threads and t.is_alive()]
        if not extra:
            return []
        time.sleep(0.05)
    return extra


@pytest.mark.parametrize("name", list(FACTORIES))
def test_widget_lifecycle(name, tiny_cnn):
    gc.collect()
    threads = set(threading.enumerate())
    registry = len(Widget.widgets)
    hooks = model_snapshot(tiny_cnn)["hooks"]

    w = FACTORIES[name](tiny_cnn)
    assert w.error == "", w.error
    parts = getattr(w, "parts", [])
    for target in [w, *parts]:
        for control in controls(target):
            setattr(target, control, new_value(target, control))
            if isinstance(target, BackgroundWidget) and target.running:
                target.stop()
        target.flush()
    if isinstance(w, BackgroundWidget):
        w.run(raise_error=False)
    w.show()  # composite widgets build their boxes (and charts) here
    w.flush()
    assert w.error == "", w.error
    errors = {type(p).__name__: p.error for p in parts if p.error}
    assert not errors, errors

    refs = [weakref.ref(x) for x in (w, *parts)]
    w.close()
    w.close()  # twice is fine
    del w, parts, target
    gc.collect()
    alive = [type(r()).__name__ for r in refs if r() is not None]
    if alive:
        holders = [type(h).__name__ for r in refs if r() is not None for h in gc.get_referrers(r())]
        pytest.fail(f"still alive after close() and del: {alive}; held by {holders[:12]}")
    assert not _settle(threads), "threads left running"
    assert len(Widget.widgets) == registry, [
        type(x).__name__ for x in list(Widget.widgets.values())[registry:]
    ]
    assert model_snapshot(tiny_cnn)["hooks"] == hooks == 0


def test_close_on_a_widget_whose_constructor_failed(capfd):
    m = cw.load_model(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 3)), input_size=8, device="cpu"
    )
    for cls, args in (
        (cw.FeatureMapViewer, (m, _image())),
        (cw.FeatureVisualizer, (m,)),
        (cw.FilterViewer, (m,)),
        (cw.Explorer, (m, _image())),
    ):
        with pytest.raises(cw.CNNWidgetsError):
            cls(*args)
    gc.collect()
    err = capfd.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err, err


def test_fifty_closed_viewers_are_freed(tiny_cnn):
    gc.collect()
    registry = len(Widget.widgets)
    listeners = len(cw.cam_methods._listeners)
    refs = []
    for _ in range(50):
        w = cw.GradCAMViewer(tiny_cnn, _image())
        refs.append(weakref.ref(w))
        w.close()
        del w
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
    assert len(Widget.widgets) == registry
    # The method registry's weak references to closed viewers do not pile up either.
    assert len(cw.cam_methods._listeners) == listeners


def test_live_reloading_of_the_bundle_reaches_open_widgets_only(tiny_cnn):
    """The bundle file's change signal (anywidget's live reloading) still updates an open
    widget, but holds no closed one."""
    contents = cw.FilterViewer._esm  # the class's FileContents, shared by every instance
    original = str(contents)
    w = cw.FilterViewer(tiny_cnn)
    closed = cw.FilterViewer(tiny_cnn)
    closed.close()
    slots = len(contents.changed)
    try:
        contents.changed.emit("export default { render() {} };")
        assert w._esm == "export default { render() {} };"
        assert closed._esm == original
    finally:
        contents.changed.emit(original)
        w.close()
    assert len(contents.changed) == slots - 1
