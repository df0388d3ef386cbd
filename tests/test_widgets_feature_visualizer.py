"""FeatureVisualizer: run blocks and animates, Stop stops, errors show, the chart follows."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import cnnwidgets as cw
import cnnwidgets.core  # noqa: F401  (cw.core.Param in a test)
from cnnwidgets.widgets import FeatureVisualizer, WidgetError


@pytest.fixture()
def fv(tiny_cnn, no_thread_leak):
    w = FeatureVisualizer(tiny_cnn, "relu1", 1, steps=6, size=16)
    yield w
    w.close()


def test_a_starting_picture_at_construction(fv):
    assert fv.error == "" and fv.view.startswith(b"\x89PNG")
    assert fv.channel_max == 3 and not fv.running


def test_run_blocks_and_sends_the_final_frame_and_the_chart(fv, tmp_path):
    start = fv.view
    fv.run()
    assert not fv.running and fv.error == ""
    assert fv.result is not None and fv.result.steps == 6
    assert len(fv.losses) == 6 and list(fv.chart.marks[0].y) == pytest.approx(fv.losses)
    assert fv.progress == 1.0 and "done after 6 steps" in fv.status
    assert fv.view != start
    path = fv.save(tmp_path / "feature.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_stop_stops_within_a_step_and_leaves_no_thread(tiny_cnn, no_thread_leak):
    w = FeatureVisualizer(tiny_cnn, "relu1", 0, steps=100000, size=16)
    seen = threading.Event()
    w.observe(lambda _: seen.set(), "progress")
    w.start()
    assert seen.wait(30)
    w.stop()
    assert not w.running and not w.is_alive
    assert 0 < w.result.steps < 100000 and w.status.startswith("stopped")
    w.close()


def test_parameterizations_regularisers_and_objective_lists(fv):
    for param, decorrelate in (("pixel", False), ("fft", False), ("fft", True), ("maco", True)):
        fv.param, fv.decorrelate = param, decorrelate
        fv.tv, fv.l2 = 0.1, 0.1
        fv.steps = 2
        fv.run()
        assert fv.error == "" and fv.result.steps == 2
    fv.objective = "relu1:0, conv2:3"
    fv.run()
    assert np.asarray(fv.result.images).shape[0] == 2


def test_bad_input_shows_an_error_and_the_widget_still_works(fv):
    fv.channel = 99
    assert fv.error != ""
    with pytest.raises(WidgetError):
        fv.run()
    assert not fv.running and not fv.is_alive
    fv.channel = 2
    assert fv.error == ""
    fv.param = "wavelets"
    assert "unknown parameterization 'wavelets'" in fv.error
    fv.param = "fft"
    fv.run()
    assert fv.error == "" and fv.result.steps == 6


def test_displays_as_a_box_with_the_chart(fv):
    import ipywidgets

    box = fv.show()
    assert isinstance(box, ipywidgets.HBox) and box.children == (fv, fv.chart)
    bundle = fv._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id


def test_objective_kinds_and_parameterizations_come_from_the_registries(fv, tiny_cnn):
    import torch

    import cnnwidgets as cw

    assert [o[1] for o in fv.kind_options] == ["channel", "neuron", "deepdream", "class_logit"]
    assert [o[1] for o in fv.param_options] == ["pixel", "fft", "maco", "lowres", "cppn"]
    fv.param = "fft"
    assert [p["name"] for p in fv.param_params] == ["decay_power"]
    fv.param_values = {"decay_power": 2.0}
    fv.kind = "class_logit"
    assert [p["name"] for p in fv.kind_params] == ["index"] and fv.kind_values == {"index": 0}
    fv.kind_values = {"index": 3}
    fv.steps = 2
    fv.run()
    assert fv.error == "" and fv.result.objectives == ["class(3)"]

    # A user's objective, registered from a notebook, appears in the open widget.
    @cw.featureviz.OBJECTIVES.register(
        "channel_max",
        label="channel (max)",
        unit=True,
        params=[
            cw.core.Param("layer", "str", ui=False),
            cw.core.Param("n", "int", 0, ui=False),
            cw.core.Param("temperature", "float", 1.0, min=0.1, max=10),
        ],
    )
    def channel_max(layer, n, temperature):
        def fn(acts):
            t = acts[layer][:, n].flatten(1) / temperature
            return temperature * torch.logsumexp(t, 1)

        return cw.featureviz.Objective(fn, {layer}, f"channel_max({layer}:{n})")

    try:
        assert ["channel (max)", "channel_max"] in fv.kind_options
        fv.kind = "channel_max"
        assert fv.kind_values == {"temperature": 1.0}
        fv.run()
        assert fv.error == "" and fv.result.objectives == ["channel_max(relu1:1)"]
    finally:
        cw.featureviz.OBJECTIVES.unregister("channel_max")


def test_a_bad_layer_names_the_closest_few_not_every_layer(lite0, no_thread_leak):
    w = FeatureVisualizer(lite0, steps=2, size=16)
    w.objective = "_blocks.3._project_cnv:1"
    n = len(lite0.layers)
    assert w.error.startswith("ObjectiveError: no layer '_blocks.3._project_cnv' in this model.")
    closest = w.error.split("Closest: ")[1].split(" (")[0].split(", ")
    assert len(closest) == 5 and closest[0] == "_blocks.3._project_conv"
    assert f"({n} layers in all" in w.error and len(w.error) < 400
    # Python callers of the engine keep the full list.
    with pytest.raises(cw.LayerNotFoundError, match=f"All {n} layers"):
        cw.visualize(lite0, "_blocks.3._project_cnv:1", steps=1, size=16)
    w.close()


def test_start_with_a_bad_objective_keeps_the_error_and_starts_nothing(fv):
    fv.objective = "relu1:99"
    message = fv.error
    assert "out of range" in message
    fv._on_action(fv, {"type": "start"}, [])  # the Start button
    assert fv.error == message and not fv.running and not fv.is_alive
    assert fv.status.startswith("ready")
    fv.start()  # from Python: the same refusal
    assert fv.error == message and not fv.is_alive
    with pytest.raises(WidgetError, match="out of range"):
        fv.run()
    fv.objective = "nolayer:0"
    fv._on_action(fv, {"type": "start"}, [])
    assert "no layer 'nolayer'" in fv.error and not fv.is_alive
    fv.objective = "relu1:2"
    assert fv.error == ""
    fv._on_action(fv, {"type": "start"}, [])
    fv.wait()
    assert fv.error == "" and fv.result.steps == 6


def test_the_loss_chart_has_few_whole_number_step_ticks(fv):
    step_axis = fv.chart.axes[0]
    assert step_axis.num_ticks == 5 and step_axis.tick_format == "d"
