"""ActivationSpectrum against a brute-force ranking of the same images, for any batching."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
import torch

import cnnwidgets as cw
from cnnwidgets.core.layers import AmbiguousLayerError
from cnnwidgets.engines.spectrum import (
    ActivationSpectrum,
    pre_activation_layer,
    pre_activation_layers,
    receptive_field,
)

from .conftest import assert_left_as_found, model_snapshot

LAYER = "conv2"  # tiny_cnn's pre-ReLU conv: signed maps, so both sides are populated


def _inputs(n, seed=0, size=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g)


def _reference_maps(tiny_cnn, x, layer=LAYER):
    """Activations computed by calling the Sequential's children directly (no hooks)."""
    out = x
    with torch.no_grad():
        for name, mod in tiny_cnn.module.named_children():
            out = mod(out)
            if name == layer:
                return out
    raise AssertionError(layer)


def _splits(n, rng):
    """A few ways to cut n images into batches: one by one, all at once, random sizes."""
    yield [1] * n
    yield [n]
    for _ in range(2):
        cuts = sorted(rng.choice(np.arange(1, n), size=rng.integers(1, 6), replace=False))
        yield list(np.diff([0, *cuts, n]))


def _feed(s, x, sizes, ids=None):
    start = 0
    for size in sizes:
        s.update(x[start : start + size], None if ids is None else ids[start : start + size])
        start += size
    return s


def _brute(per_image, k, largest):
    """Indices of the k best images; ties go to the image seen first."""
    idx = np.arange(len(per_image))
    order = np.lexsort((idx, -per_image if largest else per_image))
    return order[:k]


def _brute_slight(per_image, k, target, positive):
    idx = np.arange(len(per_image))
    ok = per_image > 0 if positive else per_image < 0
    cand = idx[ok]
    order = np.lexsort((cand, np.abs(per_image[cand] - target)))
    return cand[order[:k]]


def _column(s, ch, name):
    ex = s.examples(ch)[name]
    return [e.image_id for e in ex], [e.value for e in ex], [e.position for e in ex]


def _check_extremes(s, maps, k, channels):
    flat = maps.flatten(2).numpy()
    w = maps.shape[-1]
    for ch in channels:
        vmax, vmin = flat[:, ch].max(1), flat[:, ch].min(1)
        for name, per, pos, largest in (
            ("max", vmax, flat[:, ch].argmax(1), True),
            ("min", vmin, flat[:, ch].argmin(1), False),
        ):
            want = _brute(per, k, largest)
            ids, vals, positions = _column(s, ch, name)
            assert ids == list(want), (name, ch)
            np.testing.assert_allclose(vals, per[want], rtol=1e-6)
            assert positions == [(int(pos[i]) // w, int(pos[i]) % w) for i in want]


@pytest.mark.parametrize("layer", [LAYER, "relu2"])
def test_max_and_min_equal_brute_force_for_any_batching(tiny_cnn, layer):
    # relu2 is post-ReLU: every minimum is 0, so the min column is all ties (first seen wins)
    x = _inputs(40)
    maps = _reference_maps(tiny_cnn, x, layer)
    rng = np.random.default_rng(1)
    for sizes in _splits(len(x), rng):
        s = _feed(ActivationSpectrum(tiny_cnn, layer, None, k=5), x, sizes)
        _check_extremes(s, maps, 5, range(6))
        assert s.images_seen == len(x)


def test_channel_subset_and_ids(tiny_cnn):
    x = _inputs(20, seed=3)
    maps = _reference_maps(tiny_cnn, x)
    ids = [f"img{i}" for i in range(len(x))]
    s = _feed(ActivationSpectrum(tiny_cnn, LAYER, [4, 1], k=3), x, [7, 7, 6], ids)
    vmax = maps[:, 4].flatten(1).max(1).values.numpy()
    assert _column(s, 4, "max")[0] == [ids[i] for i in _brute(vmax, 3, True)]
    assert s.channels == [4, 1]
    with pytest.raises(ValueError, match="not tracked"):
        s.examples(0)


def test_slight_columns_with_fixed_targets_equal_brute_force(tiny_cnn):
    x = _inputs(40, seed=5)
    maps = _reference_maps(tiny_cnn, x).flatten(2).numpy()
    targets = {"positive": 0.15, "negative": [-0.1, -0.2, -0.3, -0.1, -0.2, -0.3]}
    rng = np.random.default_rng(2)
    for sizes in _splits(len(x), rng):
        s = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=4, targets=targets), x, sizes)
        for ch in range(6):
            pos = _brute_slight(maps[:, ch].max(1), 4, 0.15, True)
            neg = _brute_slight(maps[:, ch].min(1), 4, targets["negative"][ch], False)
            assert _column(s, ch, "slightly_positive")[0] == list(pos)
            assert _column(s, ch, "slightly_negative")[0] == list(neg)
            vals = _column(s, ch, "slightly_positive")[1]
            assert all(v > 0 for v in vals)


def test_relative_slight_is_exact_once_the_extremes_are_seen(tiny_cnn):
    x = _inputs(40, seed=7)
    maps = _reference_maps(tiny_cnn, x).flatten(2).numpy()
    vmax, vmin = maps.max(2), maps.min(2)  # (N, C)
    first = sorted(set(vmax.argmax(0)) | set(vmin.argmin(0)))
    rest = [i for i in range(len(x)) if i not in first]
    order = first + rest
    s = ActivationSpectrum(tiny_cnn, LAYER, None, k=3, fraction=0.2)
    s.update(x[first], ids=first)
    for i in range(0, len(rest), 6):
        s.update(x[rest[i : i + 6]], ids=rest[i : i + 6])
    assert s.images_seen == len(order)
    t = s.targets()
    for ch in range(6):
        np.testing.assert_allclose(t["positive"][ch], 0.2 * vmax[:, ch].max(), rtol=1e-6)
        pos = _brute_slight(vmax[:, ch], 3, 0.2 * vmax[:, ch].max(), True)
        neg = _brute_slight(vmin[:, ch], 3, 0.2 * vmin[:, ch].min(), False)
        assert _column(s, ch, "slightly_positive")[0] == list(pos)
        assert _column(s, ch, "slightly_negative")[0] == list(neg)


def test_second_pass_with_first_pass_targets_is_exact(tiny_cnn):
    x = _inputs(40, seed=11)
    maps = _reference_maps(tiny_cnn, x).flatten(2).numpy()
    first = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=3), x, [1] * 40)
    second = _feed(
        ActivationSpectrum(tiny_cnn, LAYER, None, k=3, targets=first.targets()), x, [9, 9, 9, 13]
    )
    for ch in range(6):
        vmax = maps[:, ch].max(1)
        want = _brute_slight(vmax, 3, 0.1 * vmax.max(), True)
        assert _column(second, ch, "slightly_positive")[0] == list(want)


def _same_examples(a, b, channels):
    for ch in channels:
        ea, eb = a.examples(ch), b.examples(ch)
        for name in ea:
            assert [(e.image_id, e.position, e.box) for e in ea[name]] == [
                (e.image_id, e.position, e.box) for e in eb[name]
            ], (ch, name)
            np.testing.assert_allclose(
                [e.value for e in ea[name]], [e.value for e in eb[name]], rtol=1e-5
            )
            for p, q in zip(ea[name], eb[name]):
                np.testing.assert_array_equal(p.crop, q.crop)


def test_merging_two_trackers_equals_one_over_both_streams(tiny_cnn):
    x = _inputs(50, seed=13)
    ids = [f"i{i}" for i in range(50)]
    targets = {"positive": 0.2, "negative": -0.2}
    a = _feed(
        ActivationSpectrum(tiny_cnn, LAYER, None, k=4, targets=targets), x[:30], [8, 22], ids[:30]
    )
    b = _feed(
        ActivationSpectrum(tiny_cnn, LAYER, None, k=4, targets=targets),
        x[30:],
        [3] * 6 + [2],
        ids[30:],
    )
    one = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=4, targets=targets), x, [50], ids)
    merged = ActivationSpectrum.merged(a, b)
    _same_examples(merged, one, range(6))
    assert merged.images_seen == 50
    # merged() leaves its inputs alone
    assert a.images_seen == 30 and b.images_seen == 20
    assert set(_column(a, 0, "max")[0]) <= set(ids[:30])
    assert set(_column(b, 0, "min")[0]) <= set(ids[30:])


def test_merge_with_relative_targets_keeps_extremes_exact(tiny_cnn):
    x = _inputs(50, seed=17)
    maps = _reference_maps(tiny_cnn, x)
    a = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=4), x[:20], [20])
    b = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=4), x[20:], [10, 10, 10])
    b_ids_shifted = ActivationSpectrum.merged(a, b)
    # b's default ids are its own stream indices (0..29); shift them to compare with brute force
    for ch in range(6):
        for name, per, largest in (
            ("max", maps[:, ch].flatten(1).max(1).values.numpy(), True),
            ("min", maps[:, ch].flatten(1).min(1).values.numpy(), False),
        ):
            want = _brute(per, 4, largest)
            got = _column(b_ids_shifted, ch, name)[1]
            np.testing.assert_allclose(got, per[want], rtol=1e-6)
        mx = b_ids_shifted.examples(ch)["max"][0].value
        np.testing.assert_allclose(b_ids_shifted.targets()["positive"][ch], 0.1 * mx, rtol=1e-6)


def test_state_dict_round_trip_and_pickle(tiny_cnn):
    x = _inputs(30, seed=19)
    s = _feed(ActivationSpectrum(tiny_cnn, LAYER, [0, 2, 5], k=3), x, [10, 20])
    state = pickle.loads(pickle.dumps(s.state_dict()))
    t = ActivationSpectrum(tiny_cnn, LAYER, [0, 2, 5], k=3).load_state_dict(state)
    _same_examples(s, t, [0, 2, 5])
    # the restored tracker goes on as the original would
    s.update(x[:5] * 2)
    t.update(x[:5] * 2)
    _same_examples(s, t, [0, 2, 5])
    with pytest.raises(ValueError, match="settings"):
        ActivationSpectrum(tiny_cnn, LAYER, [0, 2], k=3).load_state_dict(state)


def test_memory_does_not_grow_with_images(tiny_cnn):
    s = ActivationSpectrum(tiny_cnn, LAYER, None, k=2)
    s.update(_inputs(100, seed=0))
    first = s.nbytes
    shapes = {n: {k: tuple(t.shape) for k, t in c.tensors().items()} for n, c in s._cols.items()}
    slots = sum(c.seq.numel() for c in s._cols.values())
    for i in range(1, 25):  # 2,500 images: the id table must be pruned
        s.update(_inputs(100, seed=i))
        assert len(s._ids) <= 2 * slots + 1024 + 100
    assert s.images_seen == 2500
    assert s.nbytes <= first + 64 * (2 * slots + 1024 + 100)
    assert shapes == {
        n: {k: tuple(t.shape) for k, t in c.tensors().items()} for n, c in s._cols.items()
    }
    for ch in range(6):  # every member's id is still known
        assert all(isinstance(e.image_id, int) for col in s.examples(ch).values() for e in col)


def test_crops_are_the_input_pixels_around_the_position(tiny_cnn):
    x = _inputs(12, seed=23)
    # several batches, so that entering examples reuse the crop slots of those they evict
    s = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=3), x, [1, 1, 3, 7])
    box, centre, stride = receptive_field(tiny_cnn, LAYER)
    assert box == (6, 6, 11, 11) and centre == (8, 8) and stride == (1.0, 1.0)  # 3x3 then 3x3
    # the tracker's default box is the effective field: inside the theoretical one
    (y0, x0, y1, x1), _, _ = s.receptive_field
    assert 6 <= y0 < y1 <= 11 and 6 <= x0 < x1 <= 11
    side = y1 - y0
    shown = (tiny_cnn.denormalize(x).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    for ch in range(6):
        for col in s.examples(ch).values():
            for e in col:
                r, c = e.position
                y0, x0, y1, x1 = e.box
                assert (y1 - y0, x1 - x0) == (side, side)
                # the box moves with the position unless it had to move inside the image
                assert y0 == min(max(r - 8 + s.receptive_field[0][0], 0), 16 - side)
                assert x0 == min(max(c - 8 + s.receptive_field[0][1], 0), 16 - side)
                np.testing.assert_array_equal(e.crop, shown[e.image_id, y0:y1, x0:x1].numpy())


def test_large_boxes_are_scaled_down_and_clipped_to_the_image(tiny_cnn):
    # smooth images, so that an antialiased resize and a 2x2 area average agree closely
    g = torch.Generator().manual_seed(29)
    low = torch.rand(6, 3, 4, 4, generator=g)
    x = tiny_cnn.normalize(
        torch.nn.functional.interpolate(
            low, size=(16, 16), mode="bicubic", align_corners=True
        ).clamp(0, 1)
    )
    s = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=2, crop_size=8, crop_px=4), x, [2, 4])
    shown = tiny_cnn.denormalize(x).clamp(0, 1) * 255
    # the batch is averaged over 2 x 2 blocks once; a crop starts at the block nearest its box
    halved = torch.nn.functional.avg_pool2d(shown, 2).round().permute(0, 2, 3, 1).numpy()
    for ch in range(6):
        for e in s.examples(ch)["max"]:
            y0, x0, y1, x1 = e.box
            assert (y1 - y0, x1 - x0) == (8, 8) and e.crop.shape == (4, 4, 3)
            top, left = (int(torch.tensor(v / 2).round()) for v in (y0, x0))
            assert abs(2 * top - y0) <= 1 and abs(2 * left - x0) <= 1
            np.testing.assert_allclose(
                e.crop, halved[e.image_id, top : top + 4, left : left + 4], atol=1
            )
    whole = ActivationSpectrum(tiny_cnn, LAYER, [0], k=1, crop_size=40).update(x[:3])
    e = whole.examples(0)["max"][0]
    assert e.box == (0, 0, 16, 16) and whole.crop_px == 16
    np.testing.assert_array_equal(e.crop, shown[e.image_id].round().permute(1, 2, 0).numpy())


def test_update_takes_images_through_the_model_preprocessing(tiny_cnn):
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for h, w in ((40, 30), (20, 20), (33, 50), (16, 16))
    ]
    a = ActivationSpectrum(tiny_cnn, LAYER, None, k=2).update(images[:3]).update(images[3])
    b = ActivationSpectrum(tiny_cnn, LAYER, None, k=2).update(tiny_cnn.preprocess(images))
    _same_examples(a, b, range(6))


def test_scan_progress_stop_and_limit(tiny_cnn):
    data = cw.datasets.sample_crops(12, size=24, seed=1)
    calls = []
    s = ActivationSpectrum(tiny_cnn, LAYER, None, k=2)
    s.scan(data, batch_size=5, progress=lambda seen, total: calls.append((seen, total)))
    assert calls == [(5, 12), (10, 12), (12, 12)]
    ref = ActivationSpectrum(tiny_cnn, LAYER, None, k=2).update([d["image"] for d in data])
    _same_examples(s, ref, range(6))

    stop = threading.Event()
    t = ActivationSpectrum(tiny_cnn, LAYER, None, k=2)
    for _ in t.scan_iter(data, batch_size=4, stop=stop):
        stop.set()
    assert t.images_seen == 4
    u = ActivationSpectrum(tiny_cnn, LAYER, None, k=2).scan(
        data, batch_size=5, limit=7, progress=False
    )
    assert u.images_seen == 7


def test_model_left_as_found(tiny_cnn):
    tiny_cnn.module.train()
    before = model_snapshot(tiny_cnn)
    s = ActivationSpectrum(tiny_cnn, LAYER, None, k=2)
    s.update(_inputs(6))
    s.scan(_inputs(9), batch_size=4, progress=False)
    pre_activation_layers(tiny_cnn)
    assert_left_as_found(before, tiny_cnn)


def test_double_precision_model(tiny_cnn):
    tiny_cnn.module.double()
    x = _inputs(10, seed=31).double()
    s = _feed(ActivationSpectrum(tiny_cnn, LAYER, None, k=3), x, [4, 6])
    maps = _reference_maps(tiny_cnn, x)
    _check_extremes(s, maps, 3, range(6))


def test_bad_input_gives_clear_errors(tiny_cnn):
    with pytest.raises(cw.LayerNotFoundError):
        ActivationSpectrum(tiny_cnn, "conv9", None)
    with pytest.raises(ValueError, match="6 channels"):
        ActivationSpectrum(tiny_cnn, LAYER, [0, 6])
    with pytest.raises(ValueError, match="map"):
        ActivationSpectrum(tiny_cnn, "fc", None)
    with pytest.raises(ValueError, match="k must"):
        ActivationSpectrum(tiny_cnn, LAYER, None, k=0)
    s = ActivationSpectrum(tiny_cnn, LAYER, [0, 1], k=2)
    with pytest.raises(ValueError, match="ids"):
        s.update(_inputs(3), ids=["a"])
    with pytest.raises(ValueError, match="differ"):
        s.merge(ActivationSpectrum(tiny_cnn, LAYER, [0, 2], k=2))
    with pytest.raises(TypeError):
        s.merge("not a tracker")


def test_pre_activation_layers_of_tiny_cnn(tiny_cnn):
    assert pre_activation_layers(tiny_cnn) == ["conv1", "conv2"]
    assert pre_activation_layer(tiny_cnn, "relu2") == "conv2"
    assert pre_activation_layer(tiny_cnn, "conv2") == "conv2"


class _SharedReLU(torch.nn.Module):
    """One ReLU module called twice, the second time on a sum (as in ResNet's blocks)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.act = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.conv2(h))
        return self.pool(self.act(h + 1)).flatten(1)


def test_pre_activation_layers_with_a_shared_activation():
    m = cw.load_model(_SharedReLU(), input_size=8, device="cpu", labels=None)
    assert pre_activation_layers(m) == ["bn1", "conv2"]
    # One name per call (the bare name, which used to mean the first call, says neither).
    assert pre_activation_layer(m, "relu@0") == "bn1"
    assert pre_activation_layer(m, "relu@1") == "conv2"
    with pytest.raises(AmbiguousLayerError, match="relu@0 or relu@1"):
        pre_activation_layer(m, "relu")
    with pytest.raises(ValueError, match="by hand"):  # act reads h + 1, not a layer
        pre_activation_layer(m, "act")


def test_lite0_pre_activation_layers_and_agreement_with_feature_maps(lite0, cat, coffee):
    assert pre_activation_layer(lite0, "_blocks.5._act1") == "_blocks.5._bn1"
    # Independent listing: in each MBConv block (and the stem/head) _actN reads _bnN.
    mods = dict(lite0.module.named_modules())
    expected = [
        n
        for n in lite0.layers
        if n.rsplit(".", 1)[-1] in ("_bn0", "_bn1")
        and (
            n.rsplit(".", 1)[0] + "._act" + n[-1]
            if "." in n
            else {"_bn0": "_act_stem", "_bn1": "_act_head"}[n]
        )
        in mods
    ]
    assert pre_activation_layers(lite0) == expected
    assert "_blocks.5._bn2" not in expected

    layer = "_blocks.5._bn1"
    images = [cat, coffee, cw.load_image("astronaut")]
    s = ActivationSpectrum(lite0, layer, [0, 7, 100], k=3).update(images[:2]).update(images[2:])
    maps = torch.as_tensor(cw.feature_maps(lite0, images, layer, cache=False))
    _check_extremes(s, maps, 3, [0, 7, 100])
    for col in s.examples(7).values():
        for e in col:
            assert e.crop.shape == (s.crop_px, s.crop_px, 3) and e.crop.dtype == np.uint8
