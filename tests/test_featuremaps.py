"""cw.feature_maps: equal to a hand-made forward, stop early, cache without a forward pass."""

import numpy as np
import pytest
import torch

import cnnwidgets as cw
from cnnwidgets.engines import featuremaps as fm

from .conftest import assert_left_as_found, model_snapshot


def _count_forwards(module):
    calls = []
    handle = module.register_forward_hook(lambda *a: calls.append(1))
    return calls, handle


def test_feature_maps_equal_sequential_prefix(tiny_cnn):
    fm.clear_cache()
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


def test_cache_returns_same_array_without_forward(tiny_cnn):
    fm.clear_cache()
    first = cw.feature_maps(tiny_cnn, "cat", "conv2")
    calls, handle = _count_forwards(tiny_cnn.module.conv1)
    try:
        again = cw.feature_maps(tiny_cnn, "cat", "conv2")
        assert calls == []
        assert again is first and not again.flags.writeable
        cw.feature_maps(tiny_cnn, "cat", "conv1")  # another layer: one forward
        assert len(calls) == 1
        with torch.no_grad():  # weights change: cache is stale
            tiny_cnn.module.conv1.weight.mul_(2)
        changed = cw.feature_maps(tiny_cnn, "cat", "conv2")
        assert len(calls) == 2 and not np.array_equal(changed, first)
    finally:
        handle.remove()
    assert fm.cache_info()["entries"] <= fm.CACHE_ENTRIES


def test_batch_gives_n_c_h_w_and_partial_hits(tiny_cnn):
    fm.clear_cache()
    single = cw.feature_maps(tiny_cnn, "cat", "relu1")
    batch = cw.feature_maps(tiny_cnn, ["cat", "coffee"], "relu1")
    assert batch.shape == (2, 4, 16, 16)
    np.testing.assert_array_equal(batch[0], single)
    uncached = cw.feature_maps(tiny_cnn, ["cat", "coffee"], "relu1", cache=False)
    np.testing.assert_allclose(batch, uncached, rtol=1e-6, atol=1e-6)


def test_lru_is_bounded():
    lru = fm._LRU(entries=2, nbytes=10_000)
    owner = torch.nn.Linear(1, 1)
    for i in range(4):
        lru.put(("k", i), owner, np.zeros(100, np.float32))
    assert lru.info()["entries"] == 2 and lru.get(("k", 0), owner) is None
    assert lru.get(("k", 3), owner) is not None
    lru.put(("big",), owner, np.zeros(10_000, np.float32))  # larger than the whole cache
    assert lru.get(("big",), owner) is None


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
