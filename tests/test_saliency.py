"""cw.saliency against independent references: finite differences, hand-written guided
backprop, the IG completeness axiom, Captum."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnwidgets as cw
import cnnwidgets.core
from cnnwidgets.core import ParameterError
from cnnwidgets.engines.saliency import SALIENCY_METHODS

from .conftest import assert_left_as_found, model_snapshot


def _double(model):
    assert model.layers  # probe the layers first: Model.example_input is float32
    model.module.double()
    return model


def _x(seed=0, size=8, dtype=torch.float64):
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_gradient_matches_central_differences(tiny_cnn):
    m = _double(tiny_cnn)
    x = _x()
    a = cw.saliency(m, x, target=3)
    assert a.raw.shape == (3, 8, 8) and a.raw.dtype == np.float32 and a.target == 3
    eps, fd = 1e-6, np.zeros((3, 8, 8))
    with torch.no_grad():
        for idx in np.ndindex(3, 8, 8):
            d = torch.zeros_like(x)
            d[(0, *idx)] = eps
            fd[idx] = (m.module(x + d)[0, 3] - m.module(x - d)[0, 3]).item() / (2 * eps)
        assert a.score == pytest.approx(m.module(x)[0, 3].item(), rel=1e-6)
    np.testing.assert_allclose(a.raw, fd, rtol=1e-4, atol=1e-7)


def test_map_is_max_abs_over_channels_percentile_clipped(tiny_cnn):
    a = cw.saliency(tiny_cnn, _x(dtype=torch.float32), target=0)
    mag = np.abs(a.raw).max(0)
    np.testing.assert_allclose(a.map, np.clip(mag / np.percentile(mag, 99), 0, 1), rtol=1e-5)
    assert np.asarray(a) is a.map and a.map.min() >= 0 and a.map.max() == 1


def test_gradient_x_input_and_captum_saliency(tiny_cnn):
    from captum.attr import Saliency

    x = _x(1, dtype=torch.float32)
    g = cw.saliency(tiny_cnn, x, target=2)
    gx = cw.saliency(tiny_cnn, x, target=2, method="gradient_x_input")
    np.testing.assert_allclose(gx.raw, g.raw * x[0].numpy(), rtol=1e-6)
    ref = Saliency(tiny_cnn.module).attribute(x.clone(), target=2, abs=False)
    np.testing.assert_allclose(g.raw, ref[0].detach().numpy(), rtol=1e-5, atol=1e-8)


def test_smoothgrad_noise_zero_is_the_gradient(tiny_cnn):
    x = _x(2, dtype=torch.float32)
    g = cw.saliency(tiny_cnn, x)
    s = cw.saliency(tiny_cnn, x, method="smoothgrad", noise=0)
    np.testing.assert_array_equal(s.raw, g.raw)
    assert s.target == g.target and s.params["n_samples"] == 25


def test_smoothgrad_on_a_linear_model_and_batching():
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
    m = cw.load_model(linear, input_size=6, device="cpu")
    x = _x(3, size=6, dtype=torch.float32)
    s = cw.saliency(m, x, target=1, method="smoothgrad", noise=0.5, n_samples=7)
    w = linear[1].weight[1].detach().view(3, 6, 6).numpy()  # the gradient everywhere
    np.testing.assert_allclose(s.raw, w, rtol=1e-5, atol=1e-7)
    # Internal batches of 1 and of 5 give the same samples (one seeded stream) and result.
    m2 = cw.load_model(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
        input_size=6,
        device="cpu",
    )
    a = cw.saliency(m2, x, target=0, method="smoothgrad", n_samples=6, batch_size=1)
    b = cw.saliency(m2, x, target=0, method="smoothgrad", n_samples=6, batch_size=5)
    np.testing.assert_allclose(a.raw, b.raw, rtol=1e-5, atol=1e-7)
    c = cw.saliency(m2, x, target=0, method="smoothgrad", n_samples=6, seed=1)
    assert not np.allclose(a.raw, c.raw)


@pytest.mark.parametrize("integration", ["riemann_trapezoid", "gausslegendre"])
def test_integrated_gradients_completeness(tiny_cnn, integration):
    m = _double(tiny_cnn)
    x = _x(4)
    a = cw.saliency(m, x, target=1, method="integrated_gradients", integration=integration)
    with torch.no_grad():
        expected = (m.module(x)[0, 1] - m.module(torch.zeros_like(x))[0, 1]).item()
    assert a.raw.sum() == pytest.approx(expected, rel=0.03)
    assert a.params["convergence_delta"] == pytest.approx(a.raw.sum() - expected, abs=1e-4)
    # A given baseline: completeness against that baseline.
    base = torch.full_like(x, 0.3)
    b = cw.saliency(
        m,
        x,
        target=1,
        method="integrated_gradients",
        baseline=base,
        steps=64,
        integration=integration,
    )
    with torch.no_grad():
        expected = (m.module(x)[0, 1] - m.module(base)[0, 1]).item()
    assert b.raw.sum() == pytest.approx(expected, rel=0.03)


def test_integrated_gradients_agree_with_captum(tiny_cnn):
    from captum.attr import IntegratedGradients

    m = _double(tiny_cnn)
    x = _x(5)
    a = cw.saliency(
        m,
        x,
        target=4,
        method="integrated_gradients",
        steps=20,
        integration="gausslegendre",
        batch_size=7,
    )
    ref = IntegratedGradients(m.module).attribute(x, target=4, n_steps=20, method="gausslegendre")
    np.testing.assert_allclose(a.raw, ref[0].numpy(), rtol=1e-4, atol=1e-6)


class _MixedReLUNet(nn.Module):
    """ReLUs in every form guided backprop must catch: in-place module, functional, method,
    ReLU6."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 5, 3, padding=1)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(5, 6, 3, padding=1)
        self.conv3 = nn.Conv2d(6, 4, 3, padding=1)
        self.relu6 = nn.ReLU6()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = self.relu1(self.conv1(x))
        h = F.relu(self.conv2(h))
        h = self.relu6(self.conv3(h).relu() * 3)
        return self.fc(h.mean((2, 3)))


def _guided_by_hand(net, x, target):
    """Guided backprop written out layer by layer: at each ReLU, grad * (pre > 0) * (grad > 0)."""
    with torch.no_grad():
        p1 = net.conv1(x)
        h1 = p1.clamp(min=0)
        p2 = net.conv2(h1)
        h2 = p2.clamp(min=0)
        p3 = net.conv3(h2)
        h3 = p3.clamp(min=0)
        q = h3 * 3
        h4 = q.clamp(0, 6)
        g = torch.zeros(1, 3, dtype=x.dtype)
        g[0, target] = 1
        g = g @ net.fc.weight  # d/d mean
        g = g.view(1, -1, 1, 1).expand_as(h4) / (h4.shape[2] * h4.shape[3])
        g = g * ((q > 0) & (q < 6)) * (g > 0)  # guided ReLU6
        g = g * 3
        g = g * (p3 > 0) * (g > 0)  # guided relu()

        def back(conv, inp, grad):  # a conv's input gradient
            with torch.enable_grad():
                i = inp.detach().requires_grad_()
                return torch.autograd.grad(conv(i), i, grad)[0]

        g = back(net.conv3, h2, g)
        g = g * (p2 > 0) * (g > 0)  # guided F.relu
        g = back(net.conv2, h1, g)
        g = g * (p1 > 0) * (g > 0)  # guided in-place ReLU
        return back(net.conv1, x, g)


def test_guided_backprop_matches_hand_reference():
    torch.manual_seed(1)
    net = _MixedReLUNet().double()
    m = cw.load_model(net, input_size=8, device="cpu")
    x = _x(6)
    before = model_snapshot(m)
    a = cw.saliency(m, x, target=2, method="guided_backprop")
    ref = _guided_by_hand(net, x, 2)[0].numpy()
    np.testing.assert_allclose(a.raw, ref, rtol=1e-6, atol=1e-12)
    g = cw.saliency(m, x, target=2)
    assert not np.allclose(a.raw, g.raw)
    assert_left_as_found(before, m)
    # The mode is gone: a plain gradient afterwards is the plain gradient again.
    np.testing.assert_array_equal(cw.saliency(m, x, target=2).raw, g.raw)


def test_guided_backprop_non_negative_through_relus_and_captum():
    from captum.attr import GuidedBackprop

    torch.manual_seed(2)
    net = nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(3, 6, 3),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3),
    )
    m = cw.load_model(net, input_size=8, device="cpu")
    x = _x(7, dtype=torch.float32)
    guided = cw.saliency(m, x, target=0, method="guided_backprop")
    plain = cw.saliency(m, x, target=0)
    assert guided.raw.min() >= 0 and guided.raw.max() > 0  # the input passes a ReLU first
    assert plain.raw.min() < 0
    ref = GuidedBackprop(net).attribute(x, target=0)
    np.testing.assert_allclose(guided.raw, ref[0].detach().numpy(), rtol=1e-5, atol=1e-8)


def test_batch_targets_and_labels(tiny_cnn):
    x = torch.cat([_x(8, dtype=torch.float32), _x(9, dtype=torch.float32)])
    top = tiny_cnn.module(x).argmax(1).tolist()
    out = cw.saliency(tiny_cnn, x)
    assert isinstance(out, list) and [a.target for a in out] == top
    out = cw.saliency(tiny_cnn, x, target=[1, 3], method="smoothgrad", n_samples=3)
    assert [a.target for a in out] == [1, 3]
    single = cw.saliency(tiny_cnn, x[1:], target=3, method="smoothgrad", n_samples=3)
    assert single.target == 3 and not isinstance(single, list)
    assert cw.saliency(tiny_cnn, x[:1], target="c4").target == 4
    images = cw.saliency(tiny_cnn, ["cat", "coffee"], target=0)
    assert len(images) == 2 and images[0].raw.shape == (3, 16, 16)


@pytest.mark.parametrize("method", SALIENCY_METHODS.names())
def test_every_method_left_as_found_also_after_errors(lived_in_tiny_cnn, method):
    tiny_cnn, before = lived_in_tiny_cnn
    x = _x(10, dtype=torch.float32)
    extra = (
        {"n_samples": 3}
        if method == "smoothgrad"
        else {"steps": 4}
        if method.startswith("integrated")
        else {}
    )
    a = cw.saliency(tiny_cnn, x, method=method, **extra)
    assert np.isfinite(a.raw).all() and a.map.shape == (8, 8)
    assert_left_as_found(before, tiny_cnn)
    with pytest.raises(ParameterError, match="5 classes"):  # fails after the forward pass
        cw.saliency(tiny_cnn, x, target=5, method=method, **extra)
    assert_left_as_found(before, tiny_cnn)


def test_clear_errors(tiny_cnn):
    x = _x(11, dtype=torch.float32)
    with pytest.raises(ValueError, match="smoothgrad"):
        cw.saliency(tiny_cnn, x, method="smooth")
    with pytest.raises(ParameterError, match="n_samples"):
        cw.saliency(tiny_cnn, x, method="smoothgrad", samples=3)
    with pytest.raises(ParameterError, match="no parameter"):
        cw.saliency(tiny_cnn, x, steps=3)
    with pytest.raises(ValueError, match="2 targets for 1 images"):
        cw.saliency(tiny_cnn, x, target=[1, 2])
    with pytest.raises(ValueError, match="did you mean"):
        cw.saliency(tiny_cnn, x, target="c9")
    with pytest.raises(ValueError, match="n_samples"):
        cw.saliency(tiny_cnn, x, method="smoothgrad", n_samples=0)
    with pytest.raises(ValueError, match="noise"):
        cw.saliency(tiny_cnn, x, method="smoothgrad", noise=-1)
    with pytest.raises(ValueError, match="baseline"):
        cw.saliency(tiny_cnn, x, method="integrated_gradients", baseline="purple")
    with pytest.raises(ValueError, match="baseline tensor"):
        cw.saliency(tiny_cnn, x, method="integrated_gradients", baseline=torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="integration"):
        cw.saliency(tiny_cnn, x, method="integrated_gradients", integration="simpson")
    with pytest.raises(ValueError, match="batch_size"):
        cw.saliency(tiny_cnn, x, batch_size=0)


def test_resnet18_inplace_relus():
    import torchvision

    torch.manual_seed(0)
    m = cw.load_model(
        torchvision.models.resnet18(weights=None, num_classes=10), input_size=32, device="cpu"
    )
    before = model_snapshot(m)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    guided = cw.saliency(m, x, target=3, method="guided_backprop")
    plain = cw.saliency(m, x, target=3)
    assert all(np.isfinite(a.raw).all() for a in guided)
    assert not np.allclose(guided[0].raw, plain[0].raw)
    assert_left_as_found(before, m)


def test_lite0_gradient_and_guided(lite0, cat):
    before = model_snapshot(lite0)
    g = cw.saliency(lite0, cat)
    gb = cw.saliency(lite0, cat, method="guided_backprop")
    assert g.target == gb.target == 282 and g.raw.shape == (3, 224, 224)
    assert g.score == pytest.approx(gb.score)
    assert np.corrcoef(g.map.ravel(), gb.map.ravel())[0, 1] < 0.99
    assert_left_as_found(before, lite0)


def test_smoothgrad_wraps_guided_backprop(tiny_cnn):
    x = _x(12, dtype=torch.float32)
    s = cw.saliency(
        tiny_cnn,
        x,
        target=2,
        method="smoothgrad",
        base="guided_backprop",
        n_samples=3,
        noise=0.1,
        seed=1,
    )
    sigma = 0.1 * float(x.max() - x.min())
    copies = torch.cat(
        [
            x
            + sigma
            * torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(1_000_003 + k))[None]
            for k in range(3)
        ]
    )
    ref = np.mean(
        [a.raw for a in cw.saliency(tiny_cnn, copies, target=2, method="guided_backprop")], 0
    )
    np.testing.assert_allclose(s.raw, ref, rtol=1e-5, atol=1e-8)
    assert s.params["base"] == "guided_backprop"
    with pytest.raises(ParameterError, match="base"):
        cw.saliency(tiny_cnn, x, method="smoothgrad", base="smoothgrad")


def test_a_users_saliency_method_is_dispatched_and_listed(tiny_cnn):
    x = _x(13, dtype=torch.float32)

    @cw.saliency_methods.register(
        "gradient_squared", label="gradient²", params=[cw.core.Param("scale", "float", 1.0, min=0)]
    )
    def gradient_squared(call, scale):
        return scale * call.gradient() ** 2

    try:
        a = cw.saliency(tiny_cnn, x, target=1, method="gradient_squared", scale=3.0)
        g = cw.saliency(tiny_cnn, x, target=1)
        np.testing.assert_allclose(a.raw, 3 * g.raw**2, rtol=1e-6)
        # SmoothGrad wraps it too.
        s = cw.saliency(
            tiny_cnn,
            x,
            target=1,
            method="smoothgrad",
            base="gradient_squared",
            noise=0,
            base_params={"scale": 3.0},
        )
        np.testing.assert_allclose(s.raw, a.raw, rtol=1e-6)
    finally:
        cw.saliency_methods.unregister("gradient_squared")
