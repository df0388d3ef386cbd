"""Faithfulness beside the map in GradCAMViewer and SaliencyViewer: the scores and the chart at
construction, one recompute per change of method, layer or class, the table of every method,
the sanity check on a randomised copy, and a close() that leaves no thread and no bqplot
widget open."""

from __future__ import annotations

import io

import ipywidgets
import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import spearmanr

import cnnwidgets as cw
from cnnwidgets.widgets import GradCAMViewer, SaliencyViewer

KEYS = {"deletion_auc", "insertion_auc", "average_drop", "increase_in_confidence", "curves"}


@pytest.fixture(params=[GradCAMViewer, SaliencyViewer], ids=["gradcam", "saliency"])
def viewer(request, tiny_cnn, cat, no_thread_leak):
    w = request.param(tiny_cnn, cat)
    yield w
    w.close()


def width_of(jpeg: bytes) -> int:
    return Image.open(io.BytesIO(jpeg)).size[0]


def assert_scores_of(w, attribution):
    """The trait holds what the engine gives for the widget's own map."""
    expected = cw.faithfulness(w.model, w.image, attribution, steps=w.faithfulness_steps)
    f = w.faithfulness
    assert f["deletion_auc"] == pytest.approx(expected.deletion_auc, abs=1e-9)
    assert f["insertion_auc"] == pytest.approx(expected.insertion_auc, abs=1e-9)
    assert f["average_drop"] == pytest.approx(expected.average_drop, abs=1e-9)
    assert f["target"] == attribution.target == w.target
    np.testing.assert_allclose(f["curves"]["deletion"], expected.deletion, atol=1e-12)


def test_scores_and_chart_at_construction(viewer):
    f = viewer.faithfulness
    assert viewer.error == "" and KEYS <= set(f) and "error" not in f
    assert viewer.faithfulness_computations == 1
    curves = f["curves"]
    assert len(curves["fractions"]) == len(curves["deletion"]) == len(curves["insertion"]) == 21
    assert 0 <= f["deletion_auc"] <= 1 and 0 <= f["insertion_auc"] <= 1
    assert f["method"] == viewer.method and f["label"]
    assert_scores_of(viewer, viewer.attribution)
    # the chart draws the same curves, its title carries the areas
    lines = viewer._curves
    np.testing.assert_allclose(lines.x, curves["fractions"])
    np.testing.assert_allclose(lines.y, [curves["deletion"], curves["insertion"]])
    assert f"{f['deletion_auc']:.3f}" in viewer.chart.title
    assert f"{f['insertion_auc']:.3f}" in viewer.chart.title
    box = viewer.show()
    assert isinstance(box, ipywidgets.HBox) and list(box.children) == [viewer, viewer.chart]
    assert viewer.chart.layout.width == "260px" and viewer.chart.layout.height == "180px"


def test_one_recompute_per_change_of_method_layer_or_class(viewer):
    viewer._recompute.delay = 3600  # nothing runs before flush(), however slow the machine
    changes = [("method", [o[1] for o in viewer.method_options if o[1] != viewer.method][0])]
    if isinstance(viewer, GradCAMViewer):
        changes.append(("layer", "conv1"))
    changes.append(("target", viewer.target_options[1][1]))
    for name, value in changes:
        n, maps = viewer.faithfulness_computations, viewer.computations
        before = dict(viewer.faithfulness)
        setattr(viewer, name, value)
        assert viewer.faithfulness_computations == n  # debounced: nothing yet
        viewer.flush()
        assert viewer.error == "", viewer.error
        assert viewer.faithfulness_computations == n + 1, name
        assert viewer.computations == maps + 1
        assert viewer.faithfulness != before
        assert_scores_of(viewer, viewer.attribution)


def test_redraws_that_keep_the_map_do_not_rescore(viewer):
    n = viewer.faithfulness_computations
    viewer.alpha = 0.9
    viewer.compare_target = viewer.target_options[1][1]
    viewer.flush()
    assert viewer.error == "" and " | " in viewer.caption
    assert viewer.faithfulness_computations == n


def test_a_flat_map_says_why_it_has_no_scores(tiny_cnn, cat, no_thread_leak):
    @cw.cam_methods.register("flat_cam", label="flat", gradient=False)
    def flat_cam(A, G, call):
        return torch.zeros_like(A[:, 0])

    try:
        w = GradCAMViewer(tiny_cnn, cat, method="flat_cam")
        try:
            assert w.error == "" and w.view  # the map itself is shown
            assert "constant" in w.faithfulness["error"]
            assert len(w._curves.x) == 0 and "no scores" in w.chart.title
            w.method = "gradcam"
            w.flush()
            assert "error" not in w.faithfulness and len(w._curves.x) == 21
        finally:
            w.close()
    finally:
        cw.cam_methods.unregister("flat_cam")


def test_the_table_lists_every_method(viewer):
    registry = cw.cam_methods if isinstance(viewer, GradCAMViewer) else cw.saliency_methods
    rows = viewer.score_all()
    skipped = viewer.compare_skipped
    assert viewer.error == ""
    scored = [r["method"] for r in rows]
    assert scored == [n for n in registry.names() if n in scored]  # the registry's order
    assert {r["method"] for r in rows} | {s["method"] for s in skipped} == set(registry.names())
    assert all(s["reason"] for s in skipped)
    assert len(rows) >= 3
    for r in rows:
        assert r["label"] == registry.get(r["method"]).label
        assert 0 <= r["deletion_auc"] <= 1 and 0 <= r["insertion_auc"] <= 1
        assert 0 <= r["average_drop"] <= 1
    # the shown method's row is the shown map's scores
    own = next(r for r in rows if r["method"] == viewer.method)
    assert own["deletion_auc"] == pytest.approx(viewer.faithfulness["deletion_auc"], abs=1e-9)
    assert own["insertion_auc"] == pytest.approx(viewer.faithfulness["insertion_auc"], abs=1e-9)
    # another class makes the table out of date
    viewer.target = viewer.target_options[1][1]
    assert viewer.compare == [] and viewer.compare_skipped == []


def test_the_button_fills_the_table_and_failures_are_listed(tiny_cnn, cat, no_thread_leak):
    @cw.cam_methods.register("broken_cam", label="broken", gradient=True)
    def broken_cam(A, G, call):
        raise RuntimeError("this method is broken on purpose")

    try:
        w = GradCAMViewer(tiny_cnn, cat)
        try:
            w._on_action(w, {"type": "score_all"}, [])
            assert w.scoring  # at once, so the button is disabled while the kernel scores
            w.flush()
            assert w.error == "" and not w.scoring
            broken = [s for s in w.compare_skipped if s["method"] == "broken_cam"]
            assert broken and "broken on purpose" in broken[0]["reason"]
            assert "broken_cam" not in [r["method"] for r in w.compare]
            assert "gradcam" in [r["method"] for r in w.compare]
        finally:
            w.close()
    finally:
        cw.cam_methods.unregister("broken_cam")


def test_a_table_scored_for_a_class_that_changed_meanwhile_is_dropped(
    tiny_cnn, cat, no_thread_leak
):
    w, meddled = None, []

    @cw.cam_methods.register("meddling_cam", label="meddling", gradient=True)
    def meddling_cam(A, G, call):
        if not meddled:  # the user picks another class while the table is being scored
            meddled.append(w.target)
            w.target = [o[1] for o in w.target_options if o[1] != w.target][0]
        return (G.mean((2, 3), keepdim=True) * A).sum(1)

    try:
        w = GradCAMViewer(tiny_cnn, cat)
        try:
            w.score_all()
            assert w.error == "" and not w.scoring
            assert w.compare == [] and w.compare_skipped == []
            assert meddled and w.target != meddled[0]
            rows = w.score_all()  # asked again for the new class: filled
            assert "meddling_cam" in [r["method"] for r in rows]
        finally:
            w.close()
    finally:
        cw.cam_methods.unregister("meddling_cam")


def test_sanity_shows_two_maps_and_their_rank_correlation(viewer, tiny_cnn):
    state = {k: v.clone() for k, v in tiny_cnn.module.state_dict().items()}
    single = width_of(viewer.view)
    n = viewer.faithfulness_computations
    viewer.sanity = True
    viewer.flush()
    assert viewer.error == ""
    assert width_of(viewer.view) > 1.8 * single  # the randomised model's map beside the map
    other = viewer.sanity_attribution
    assert other is not None and other.target == viewer.target
    assert not np.allclose(other.map, viewer.attribution.map)
    rho = viewer.sanity_correlation
    if rho is None:  # a flat map has no ranking
        assert np.ptp(other.map) == 0 or np.ptp(viewer.attribution.map) == 0
    else:
        expected = spearmanr(viewer.attribution.map.ravel(), other.map.ravel()).statistic
        assert rho == pytest.approx(expected, abs=1e-9)
        assert f"{rho:.2f}" in viewer.caption
    assert "randomized" in viewer.caption and "Spearman" in viewer.caption
    assert viewer.faithfulness_computations == n  # the scored map did not change
    for k, v in tiny_cnn.module.state_dict().items():
        assert torch.equal(v, state[k]), f"the user's model changed: {k}"
    viewer.sanity = False
    viewer.flush()
    assert width_of(viewer.view) == single and viewer.sanity_correlation is None
    assert "Spearman" not in viewer.caption


def test_close_leaves_no_thread_and_closes_the_chart(tiny_cnn, cat, no_thread_leak):
    w = GradCAMViewer(tiny_cnn, cat)
    box = w.show()
    parts = [w.chart, w._curves, *w._axes, *w._scales]
    w.method = "layercam"  # a recompute pending in its thread while closing
    w.close()
    for p in [*parts, box, w]:
        assert p.comm is None, f"{type(p).__name__} left open"
