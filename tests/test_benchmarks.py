"""The benchmark runner's quick mode and its agreement checks (never its timings).

Every agreement check is run twice: on a case that must agree, and on one that must not
(another target class, other noise, other images), so that a check that always passes fails
here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnwidgets as cw
from benchmarks import cam_vs_grad_cam, saliency_vs_captum, spectrum_overhead
from benchmarks.agreement import compare, compare_each, pearson
from benchmarks.common import Settings, engine
from benchmarks.inputs import photo_batch, top_classes
from benchmarks.report import Row, Target, markdown, summary
from benchmarks.runner import Plan, main, run
from benchmarks.timing import time_interleaved

needs_cam = pytest.mark.skipif(engine("cam") is None, reason="cw.cam has not landed")
needs_saliency = pytest.mark.skipif(engine("saliency") is None, reason="cw.saliency has not landed")
needs_spectrum = pytest.mark.skipif(
    engine("ActivationSpectrum") is None, reason="cw.ActivationSpectrum has not landed"
)


# ---- the comparison primitives ----------------------------------------------------------------
def test_compare_accepts_equal_and_rescaled_maps_only_by_the_right_criterion():
    rng = np.random.default_rng(0)
    a = rng.random((8, 8))
    assert compare(a, a.copy()).ok
    assert compare(a + 1e-9, a).ok
    # Same shape, other scale: correlated, so it agrees by correlation, not by tolerance.
    scaled = compare(3 * a, a)
    assert scaled.ok and scaled.corr > 0.999 and scaled.max_diff > 1
    assert not compare(a, rng.random((8, 8))).ok
    assert not compare(a, a[::-1]).ok


def test_compare_rejects_nan_and_shape_mismatch():
    a = np.ones((4, 4))
    b = a.copy()
    b[0, 0] = np.nan
    assert not compare(b, a).ok
    with pytest.raises(ValueError):
        compare(a, np.ones((4, 5)))


def test_compare_each_reports_the_worst_image():
    rng = np.random.default_rng(1)
    good = [rng.random((5, 5)) for _ in range(3)]
    bad = list(good)
    bad[1] = rng.random((5, 5))
    assert compare_each(good, [g.copy() for g in good]).ok
    assert not compare_each(bad, good).ok


def test_pearson_of_constant_maps():
    assert pearson(np.ones(4), np.ones(4)) == 1.0
    assert pearson(np.ones(4), np.zeros(4)) == 0.0


# ---- timing and memory harness -------------------------------------------------------------------
def test_time_interleaved_shuffles_each_round_and_pairs_rounds(monkeypatch):
    # The collection before each sample is for real benchmarks; in the test session's large
    # heap it cost about 0.3 s per sample, and the order is what is tested here.
    monkeypatch.setattr("benchmarks.timing.gc.collect", lambda: 0)

    def run():
        calls = []
        fns = {n: (lambda n=n: calls.append(n)) for n in "abcd"}
        t = time_interleaved(fns, warmup=1, min_rounds=12, max_rounds=12, budget_s=0)
        return t, calls

    t, calls = run()
    assert t.rounds == 12 and all(len(t[n].samples) == 12 for n in "abcd")
    rounds = [calls[i : i + 4] for i in range(4, len(calls), 4)]
    assert len(rounds) == 12 and all(sorted(r) == list("abcd") for r in rounds)
    # No side always runs right after the same other side (a rotated order would do that).
    predecessors = {n: {r[r.index(n) - 1] for r in rounds if r.index(n) > 0} for n in "abcd"}
    assert all(len(p) > 1 for p in predecessors.values())
    assert run()[1] == calls  # seeded: the same orders every run


def test_ratio_is_the_median_of_per_round_ratios():
    from benchmarks.timing import Timing, Timings

    t = Timings({"a": Timing([1.0, 2.0, 10.0]), "b": Timing([2.0, 4.0, 5.0])}, 3)
    assert t.ratio("a", "b") == 0.5  # rounds: 0.5, 0.5, 2.0
    assert t.median("a") == 2.0


_PEAK_MEMORY_PROBE = """
import time, torch
from benchmarks.timing import PeakMemory
with PeakMemory("cpu") as mem:
    big = torch.ones(64 * 2**20 // 4)  # 64 MB, written so the pages are resident
    time.sleep(0.05)
    del big
with PeakMemory("cpu") as idle:
    time.sleep(0.02)
print(mem.peak_bytes, idle.peak_bytes)
"""


def test_peak_memory_sees_an_allocation_inside_the_block():
    # A fresh process: in the test session, memory that earlier tests freed can stay resident in
    # the C allocator and be handed out again without the resident set growing.
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY_PROBE],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    peak, idle = int(out[0]), int(out[1])
    assert peak >= 48 * 2**20
    assert idle < 16 * 2**20


def test_markdown_table_and_summary_flag_misses_and_disagreements():
    ok = Row(
        "Grad-CAM",
        "m",
        "batch 1",
        "peer",
        ours=0.1,
        peer=0.5,
        ratio=0.2,
        agreement=compare(np.eye(3), np.eye(3)),
        targets=[Target("ours/peer <= 0.4", 0.2, 0.4)],
    )
    bad = Row(
        "Grad-CAM++",
        "m",
        "batch 1",
        "peer",
        ours=0.5,
        peer=0.5,
        ratio=1.0,
        agreement=compare(np.eye(3), np.eye(3)[::-1]),
        targets=[Target("ours/peer <= 0.4", 1.0, 0.4)],
    )
    table = markdown([ok, bad])
    assert table.count("\n") == 3 and "100 ms" in table and "MISSED" in table
    text = summary([ok, bad])
    assert "met: 1, missed: 1" in text and "DISAGREE  Grad-CAM++" in text


# ---- agreement of each comparison on real models ------------------------------------------------
@pytest.fixture(scope="module")
def lite0_batch(lite0):
    x = photo_batch(lite0, 2)
    return lite0, x, top_classes(lite0, x)


@needs_cam
@pytest.mark.parametrize("method", ["gradcam", "gradcam_plus_plus"])
def test_cam_agrees_with_pytorch_grad_cam_and_the_check_catches_another_class(lite0_batch, method):
    m, x, targets = lite0_batch
    layer = m.default_cam_layer
    assert cam_vs_grad_cam.agreement(m, x, targets, layer, method).ok
    other = [(t + 500) % 1000 for t in targets]
    assert not cam_vs_grad_cam.agreement(m, x, targets, layer, method, peer_targets=other).ok


@needs_cam
def test_scorecam_agreement_catches_another_layer_s_map(lite0_batch):
    m, x, targets = lite0_batch
    x1, t1 = x[:1], targets[:1]
    assert cam_vs_grad_cam.agreement(m, x1, t1, "_blocks.2", "scorecam").ok
    assert not cam_vs_grad_cam.agreement(
        m, x1, t1, "_blocks.2", "scorecam", peer_targets=[(t1[0] + 500) % 1000]
    ).ok


@needs_saliency
@pytest.mark.parametrize(
    "method,params",
    [
        ("gradient", {}),
        ("smoothgrad", {"n_samples": 3, "noise": 0.15}),
        ("integrated_gradients", {"steps": 6, "captum_method": "gausslegendre"}),
    ],
)
def test_saliency_agrees_with_captum_and_the_check_catches_another_class(
    lite0_batch, method, params
):
    m, x, targets = lite0_batch
    x1, t = x[:1], targets[0]
    assert saliency_vs_captum.agreement(m, x1, t, method, params).ok
    assert not saliency_vs_captum.agreement(
        m, x1, t, method, params, peer_target=(t + 500) % 1000
    ).ok


@needs_saliency
def test_smoothgrad_agreement_needs_the_same_noise(lite0_batch):
    m, x, targets = lite0_batch
    p = {"n_samples": 3, "noise": 0.15}
    assert saliency_vs_captum.agreement(m, x[:1], targets[0], "smoothgrad", p).ok
    assert not saliency_vs_captum.agreement(
        m, x[:1], targets[0], "smoothgrad", p, peer_seed=saliency_vs_captum.SEED + 1
    ).ok


@needs_spectrum
def test_spectrum_agreement_catches_a_scan_of_other_images(lite0):
    layer, channels = "_blocks.15._bn2", [0, 1, 2]
    x = spectrum_overhead.random_images(lite0, 6, 64)
    batches = list(x.split(3))
    Spectrum = engine("ActivationSpectrum")
    right = Spectrum(lite0, layer, channels, k=4)
    for b in batches:
        right.update(b)
    assert spectrum_overhead.scan_agreement(right, lite0, layer, channels, batches).ok
    wrong = Spectrum(lite0, layer, channels, k=4)
    for b in reversed(batches):  # same images, other ids: the check must see it
        wrong.update(b)
    assert not spectrum_overhead.scan_agreement(wrong, lite0, layer, channels, batches).ok


# ---- the quick mode end to end -------------------------------------------------------------------
def test_quick_mode_runs_every_comparison_and_all_agree(capsys):
    os.environ.setdefault("TQDM_DISABLE", "1")
    rows = run(Plan.quick(), Settings(quick=True))
    names = {r.comparison for r in rows}
    assert {
        "Grad-CAM",
        "Grad-CAM++",
        "Score-CAM",
        "Gradient",
        "SmoothGrad",
        "Integrated Gradients",
        "Spectrum scan overhead",
    } <= names
    assert not [r for r in rows if r.note.startswith("ERROR")]
    for r in rows:
        landed = r.agreement is not None
        assert landed or "not available" in r.note, r
        assert r.ok, f"{r.comparison}: {r.agreement}"
    # quick mode measures no time
    assert all(np.isnan(r.ours) for r in rows)


def test_main_rejects_unknown_parts():
    with pytest.raises(SystemExit):
        main(["--quick", "--only", "nonsense"])


def test_peers_get_an_nchw_copy_of_our_channels_last_module_unless_asked_for_ours():
    from benchmarks.common import peer_model

    m = cw.load_model("simple_cnn", device="cpu")
    assert m.channels_last
    theirs = peer_model(m, Settings())
    assert theirs is not m and not theirs.channels_last
    assert peer_model(m, Settings()) is theirs  # one copy per model
    assert theirs.module_of("conv1") is not m.module_of("conv1")
    x = m.example_input(2)
    with torch.no_grad():
        assert torch.allclose(theirs.logits(x), m.logits(x), atol=1e-5)
    assert peer_model(m, Settings(peer_layout="ours")) is m


def test_time_to_lucent_objective_stops_at_the_first_check_that_reaches_it():
    pytest.importorskip("lucent")
    from benchmarks import featureviz_vs_lucent as fv

    res = fv.time_to_match(channels=2, lucent_steps=6, size=64, layer="_blocks.2", check_every=2)
    assert res["lucent_steps"] == 6 and res["channels"] == 2
    assert res["ours_steps"] in (2, 4, 6)
    if res["ours_steps"] < 6:  # stopped early: only because it reached lucent's mean
        assert res["ours_objective"] >= res["lucent_objective"]
    assert res["ratio"] == pytest.approx(res["ours_s"] / res["lucent_s"])
    assert 0 <= res["channels_at_or_above"] <= 2
