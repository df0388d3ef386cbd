"""GradCAMViewer: layer, method and target recompute; alpha only re-blends; two classes."""

from __future__ import annotations

import pytest

from cnnwidgets.widgets import GradCAMViewer


@pytest.fixture()
def viewer(tiny_cnn, cat, no_thread_leak):
    w = GradCAMViewer(tiny_cnn, cat)
    yield w
    w.close()


def test_view_at_construction_on_the_default_layer(viewer, tiny_cnn):
    assert viewer.error == ""
    assert viewer.view.startswith(b"\xff\xd8") and viewer.photo
    assert viewer.layer == tiny_cnn.default_cam_layer
    assert viewer.attribution.target == viewer.target_options[0][1]
    assert ["Grad-CAM", "gradcam"] in viewer.method_options
    assert ["Score-CAM", "scorecam"] in viewer.method_options


def test_alpha_reblends_without_recomputing(viewer):
    n, view = viewer.computations, viewer.view
    viewer.alpha = 0.2
    assert viewer.view != view and viewer.computations == n


def test_layer_method_and_target_recompute(viewer):
    view = viewer.view
    viewer.layer = "conv1"
    viewer.flush()
    assert viewer.error == "" and viewer.view != view and viewer.attribution.layer == "conv1"
    viewer.method = "gradcam_plus_plus"
    viewer.flush()
    assert viewer.error == "" and viewer.attribution.method == "gradcam_plus_plus"
    viewer.target = viewer.target_options[1][1]
    viewer.flush()
    assert viewer.attribution.target == viewer.target_options[1][1]


def test_two_classes_side_by_side(viewer):
    single = viewer.view
    viewer.compare_target = viewer.target_options[1][1]
    viewer.flush()
    assert viewer.error == "" and viewer.view != single and " | " in viewer.caption


def test_bad_input_shows_an_error_and_the_widget_still_works(viewer):
    viewer.layer = "fc"
    viewer.flush()
    assert viewer.error != ""
    viewer.layer = "relu2"
    viewer.flush()
    assert viewer.error == ""
    viewer.method = "no-such-cam"
    viewer.flush()
    assert "no-such-cam" in viewer.error


def test_lite0(lite0, cat, no_thread_leak):
    w = GradCAMViewer(lite0, cat)
    assert w.error == "" and w.view and w.layer == lite0.default_cam_layer
    w.close()


def test_smoothgrad_of_gradcam_from_the_panel(viewer):
    viewer.method = "smoothgrad"
    assert [p["name"] for p in viewer.method_params] == ["base", "n_samples", "noise"]
    viewer.params = {**viewer.params, "base": "layercam", "n_samples": 3}
    viewer.flush()
    assert viewer.error == ""
    a = viewer.attribution
    assert (
        a.method == "smoothgrad" and a.params["base"] == "layercam" and a.params["n_samples"] == 3
    )


def test_hover_readout_carries_the_cam_at_the_layer_resolution(viewer):
    import numpy as np

    r = viewer.readout
    a = viewer.attribution
    assert r["label"] == "Grad-CAM" and r["size"] == list(a.raw.shape) == r["shape"]
    np.testing.assert_array_equal(np.frombuffer(r["values"], "<f4").reshape(a.raw.shape), a.raw)
    viewer.compare_target = viewer.target_options[1][1]  # two maps side by side: no readout
    viewer.flush()
    assert viewer.readout == {}
