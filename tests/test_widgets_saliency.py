"""SaliencyViewer: method, parameters and target recompute (debounced); alpha only re-blends."""

from __future__ import annotations

import pytest

from cnnwidgets.widgets import SaliencyViewer


@pytest.fixture()
def viewer(tiny_cnn, cat, no_thread_leak):
    w = SaliencyViewer(tiny_cnn, cat)
    yield w
    w.close()


def test_view_and_targets_at_construction(viewer, tiny_cnn, cat):
    assert viewer.error == ""
    assert viewer.view.startswith(b"\xff\xd8") and viewer.photo.startswith(b"\xff\xd8")
    top = tiny_cnn.predict(cat, k=5)
    assert [o[1] for o in viewer.target_options] == [i for i, _, _ in top]
    assert viewer.target == top[0][0] and viewer.attribution.target == top[0][0]
    assert "%" in viewer.target_options[0][0]


def test_alpha_reblends_without_recomputing(viewer):
    n, view = viewer.computations, viewer.view
    viewer.alpha = 0.9
    assert viewer.view != view and viewer.computations == n


@pytest.mark.parametrize(
    "method", ["gradient_x_input", "smoothgrad", "integrated_gradients", "guided_backprop"]
)
def test_each_method_redraws(viewer, method):
    view = viewer.view
    viewer.method = method
    small = {"n_samples": 4, "steps": 8}
    viewer.params = {k: small.get(k, v) for k, v in viewer.params.items()}
    viewer.flush()
    assert viewer.error == "" and viewer.view != view
    assert viewer.attribution.method == method


def test_a_burst_of_changes_computes_once(viewer):
    n = viewer.computations
    viewer._recompute.delay = 3600  # a burst however slow the machine; flush() runs it
    viewer.method = "smoothgrad"
    for k in range(2, 8):
        viewer.params = {**viewer.params, "n_samples": k}
    viewer.flush()
    assert viewer.computations == n + 1
    assert viewer.attribution.params.get("n_samples") == 7


def test_target_and_compare_target(viewer):
    other = viewer.target_options[1][1]
    viewer.target = other
    viewer.flush()
    assert viewer.attribution.target == other
    single = viewer.view
    viewer.compare_target = viewer.target_options[2][1]
    viewer.flush()
    assert viewer.error == "" and viewer.view != single and " | " in viewer.caption


def test_a_class_outside_the_top_predictions_joins_the_picker(viewer, tiny_cnn):
    listed = [o[1] for o in viewer.target_options]
    other = next(c for c in range(5) if c not in listed[:4])
    viewer.target_options = viewer.target_options[:4]
    viewer.target = other
    viewer.flush()
    assert other in [o[1] for o in viewer.target_options]
    assert viewer.attribution.target == other and viewer.error == ""


def test_bad_input_shows_an_error_and_the_widget_still_works(viewer):
    viewer.method = "no-such-method"
    viewer.flush()
    assert "no-such-method" in viewer.error
    viewer.method = "gradient"
    viewer.flush()
    assert viewer.error == ""
    viewer.target = 999
    viewer.flush()
    assert viewer.error != ""
    viewer.target = viewer.target_options[0][1]
    viewer.flush()
    assert viewer.error == ""


def test_upload_of_a_non_image_keeps_the_last_picture(viewer, coffee):
    view = viewer.view
    viewer._on_action(viewer, {"type": "upload", "name": "x.bin"}, [memoryview(b"\x00\x01")])
    assert "x.bin" in viewer.error and viewer.view == view
    assert viewer.set_image(coffee)
    viewer.flush()
    assert viewer.error == "" and viewer.view != view


def test_lite0(lite0, cat, no_thread_leak):
    w = SaliencyViewer(lite0, cat)
    assert w.error == "" and w.target in (281, 282, 285)
    w.close()


def test_panel_shows_only_the_chosen_methods_parameters(viewer):
    assert viewer.method_params == [] and viewer.params == {}
    viewer.method = "integrated_gradients"
    assert [p["name"] for p in viewer.method_params] == ["steps", "integration"]
    assert viewer.params == {"steps": 50, "integration": "riemann_trapezoid"}
    steps = viewer.method_params[0]
    assert (steps["kind"], steps["min"], steps["max"]) == ("int", 1, 1000)
    viewer.method = "smoothgrad"
    assert [p["name"] for p in viewer.method_params] == ["base", "n_samples", "noise"]
    assert "guided_backprop" in viewer.method_params[0]["choices"]
    assert "Smilkov" in viewer.method_help
    viewer.params = {**viewer.params, "noise": 7.0}  # out of range: a readable error
    viewer.flush()
    assert "'noise' must lie in [0, 1]" in viewer.error


def test_a_method_registered_later_appears_in_an_open_viewer(viewer):
    import cnnwidgets as cw
    import cnnwidgets.core

    @cw.saliency_methods.register(
        "abs_gradient",
        label="|gradient|",
        params=[cnnwidgets.core.Param("power", "float", 1.0, min=1, max=3)],
    )
    def abs_gradient(call, power):
        return call.gradient().abs() ** power

    try:
        assert ["|gradient|", "abs_gradient"] in viewer.method_options
        viewer.method = "abs_gradient"
        assert viewer.params == {"power": 1.0}
        viewer.params = {"power": 2.0}
        viewer.flush()
        assert viewer.error == "" and viewer.attribution.method == "abs_gradient"
        assert viewer.attribution.params == {"power": 2.0}
    finally:
        cw.saliency_methods.unregister("abs_gradient")
    assert ["|gradient|", "abs_gradient"] not in viewer.method_options


def test_hover_readout_carries_the_shown_map(viewer):
    import numpy as np

    r = viewer.readout
    a = viewer.attribution
    assert r["label"] == "map" and r["size"] == list(a.map.shape)
    h, w = r["shape"]
    assert max(h, w) <= 64  # averaged in blocks to stay small
    assert np.frombuffer(r["values"], "<f4").shape == (h * w,)
