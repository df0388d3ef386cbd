"""cw.feature_maps: equal to a hand-made forward, stop early, always as fresh as the model."""

import numpy as np
import pytest
import torch

import cnnwidgets as cw

from .conftest import assert_left_as_found, model_snapshot


def _count_forwards(module):
    calls = []
    handle = module.register_forward_hook(lambda *a: calls.append(1))
    return calls, handle


def test_feature_maps_equal_sequential_prefix(tiny_cnn):
    img = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    before = model_snapshot(tiny_cnn)
    maps = cw.feature_maps(tiny_cnn, img, "relu2")
    x = tiny_cnn.preprocess(img)
    with torch.no_grad():
        ref = tiny_cnn.module[:4](x)[0].numpy()
    assert maps.shape == (6, 16, 16)
    np.testing.assert_allclose(maps, ref, rtol=1e-6, atol=1e-6)
    assert_left_as_found(before, tiny_cnn)


def test_forward_stops_after_the_layer(tiny_cnn):
    assert "fc" in tiny_cnn.layers  # the one probe forward of layer discovery, done
    fc_calls, handle = _count_forwards(tiny_cnn.module.fc)
    try:
        cw.feature_maps(tiny_cnn, "cat", "conv1", cache=False)
    finally:
        handle.remove()
    assert fc_calls == []


def test_every_call_runs_the_forward_and_sees_weight_edits(tiny_cnn):
    # There is no cache (see engines/featuremaps.py): a cache keyed on version counters gave
    # stale maps after edits through .data; tests/test_reliability.py covers every edit.
    first = cw.feature_maps(tiny_cnn, "cat", "conv2")
    calls, handle = _count_forwards(tiny_cnn.module.conv1)
    try:
        again = cw.feature_maps(tiny_cnn, "cat", "conv2")
        assert len(calls) == 1 and np.array_equal(again, first) and again is not first
        tiny_cnn.module.conv1.weight.data.mul_(2)
        changed = cw.feature_maps(tiny_cnn, "cat", "conv2")
        assert len(calls) == 2 and not np.array_equal(changed, first)
    finally:
        handle.remove()


def test_cache_argument_is_accepted_and_true_warns(tiny_cnn):
    plain = cw.feature_maps(tiny_cnn, "cat", "relu1")
    np.testing.assert_array_equal(cw.feature_maps(tiny_cnn, "cat", "relu1", cache=False), plain)
    with pytest.warns(FutureWarning, match="no longer caches"):
        cached = cw.feature_maps(tiny_cnn, "cat", "relu1", cache=True)
    np.testing.assert_array_equal(cached, plain)


def test_batch_gives_n_c_h_w(tiny_cnn):
    single = cw.feature_maps(tiny_cnn, "cat", "relu1")
    batch = cw.feature_maps(tiny_cnn, ["cat", "coffee"], "relu1")
    assert batch.shape == (2, 4, 16, 16)
    np.testing.assert_allclose(batch[0], single, rtol=1e-6, atol=1e-6)


def test_top_channels():
    maps = np.zeros((4, 2, 2), np.float32)
    maps[2] = 1.0
    maps[1, 0, 0] = 3.0  # mean 0.75, max 3
    assert list(cw.top_channels(maps, 2, by="mean")) == [2, 1]
    assert list(cw.top_channels(maps, 2, by="max")) == [1, 2]
    assert cw.top_channels(np.stack([maps, maps]), 3).shape == (2, 3)
    with pytest.raises(ValueError, match="mean"):
        cw.top_channels(maps, 2, by="median")


def test_bad_layer_and_left_as_found(tiny_cnn):
    before = model_snapshot(tiny_cnn)
    with pytest.raises(cw.LayerNotFoundError, match="relu2"):
        cw.feature_maps(tiny_cnn, "cat", "relu3")
    assert_left_as_found(before, tiny_cnn)


def test_lite0_stem_maps(lite0, cat):
    maps = cw.feature_maps(lite0, cat, "_act_stem")
    assert maps.shape == (32, 112, 112) and maps.min() >= 0 and maps.max() <= 6
