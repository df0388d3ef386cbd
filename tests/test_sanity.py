"""Model parameter randomisation (Adebayo et al. 2018): the copy differs in exactly the chosen
layers, the user's model is untouched, the cascade shares its top layers; the rank correlation
matches scipy's Spearman."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import cnnwidgets as cw
from cnnwidgets.core import InputError, ParameterError
from cnnwidgets.engines.sanity import average_ranks, parameterised_layers, randomized_layers

from .conftest import assert_left_as_found


def test_parameterised_layers_in_execution_order(tiny_cnn):
    assert parameterised_layers(tiny_cnn) == ["conv1", "conv2", "fc"]
    assert randomized_layers(tiny_cnn, 2) == ["fc", "conv2"]


def test_copy_differs_in_exactly_the_chosen_layers(lived_in_tiny_cnn):
    model, before = lived_in_tiny_cnn
    original = {k: v.clone() for k, v in model.module.state_dict().items()}
    copy = cw.randomized_copy(model, n_layers=2, seed=0)
    assert copy.module is not model.module
    assert copy.randomized == ["fc", "conv2"]
    changed = {
        k
        for k, v in copy.module.state_dict().items()
        if not torch.equal(v.to(original[k].device), original[k])
    }
    assert changed == {"fc.weight", "fc.bias", "conv2.weight", "conv2.bias"}
    # the user's model: same weights, modes, flags, grads, no hooks
    for k, v in model.module.state_dict().items():
        assert torch.equal(v, original[k]), k
    assert_left_as_found(before, model)
    # the copy keeps what the engines need: labels, preprocessing, device
    assert copy.labels == model.labels
    assert (copy.mean, copy.std, copy.input_size) == (model.mean, model.std, model.input_size)
    assert copy.device == model.device


def test_cascade_shares_its_top_layers_and_the_seed_decides(tiny_cnn):
    two = cw.randomized_copy(tiny_cnn, n_layers=2, seed=3).module.state_dict()
    three = cw.randomized_copy(tiny_cnn, n_layers=3, seed=3).module.state_dict()
    again = cw.randomized_copy(tiny_cnn, n_layers=2, seed=3).module.state_dict()
    other = cw.randomized_copy(tiny_cnn, n_layers=2, seed=4).module.state_dict()
    for k in ("fc.weight", "fc.bias", "conv2.weight", "conv2.bias"):
        assert torch.equal(two[k], three[k]) and torch.equal(two[k], again[k]), k
        assert not torch.equal(two[k], other[k]), k
    assert not torch.equal(three["conv1.weight"], tiny_cnn.module.conv1.weight)
    # N(0, 1/fan_in): conv2 has 4 * 3 * 3 = 36 inputs per output unit
    w = three["conv2.weight"]
    assert abs(float(w.std()) - 1 / 6) < 0.05


def test_bad_layer_counts(tiny_cnn):
    for n in (0, 4, -1, 1.5, True):
        with pytest.raises(ParameterError, match="n_layers"):
            cw.randomized_copy(tiny_cnn, n_layers=n)


def test_randomized_copy_of_the_default_model_changes_its_grad_cam(lite0, cat):
    """The test the widget runs: a map of the randomised top layers has a low rank correlation
    with the trained one, and the copy's own layers keep the user's names."""
    copy = cw.randomized_copy(lite0, n_layers=3, seed=0)
    assert copy.randomized == parameterised_layers(lite0)[::-1][:3]
    assert copy.channels_last == lite0.channels_last
    a = cw.cam(lite0, cat)
    b = cw.cam(copy, cat, layer=a.layer, target=a.target)
    rho = cw.rank_correlation(a, b)
    assert np.isnan(rho) or abs(rho) < 0.5, rho
    assert cw.rank_correlation(a, a) == pytest.approx(1.0)


def test_rank_correlation_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    a = np.round(rng.random((12, 9)) * 5) / 5  # many ties
    b = a + rng.normal(0, 0.3, a.shape)
    c = np.round(rng.random((12, 9)) * 3)
    for x, y in ((a, b), (a, c), (b, c), (a, -a)):
        assert cw.rank_correlation(x, y) == pytest.approx(
            spearmanr(x.ravel(), y.ravel()).statistic, abs=1e-12
        )
    # the ranks themselves: scipy's "average" method
    from scipy.stats import rankdata

    np.testing.assert_allclose(average_ranks(a), rankdata(a.ravel()))


def test_rank_correlation_errors_and_constant_maps():
    a = np.arange(16.0).reshape(4, 4)
    assert np.isnan(cw.rank_correlation(a, np.zeros((4, 4))))
    with pytest.raises(InputError, match="shape"):
        cw.rank_correlation(a, np.zeros((4, 5)))
    bad = a.copy()
    bad[1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        cw.rank_correlation(bad, a)
