"""cw.cam against the formula by hand and against pytorch-grad-cam."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnwidgets as cw
import cnnwidgets.core
from cnnwidgets.core import ParameterError
from cnnwidgets.engines.cam import CAM_METHODS

from .conftest import assert_left_as_found, model_snapshot


def _x(seed=0, n=1, size=16):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def test_gradcam_equals_the_formula_by_hand(tiny_cnn):
    x = _x()
    before = model_snapshot(tiny_cnn)
    a = cw.cam(tiny_cnn, x, layer="relu1", target=2)
    net = tiny_cnn.module
    A = net[:2](x).detach().requires_grad_()  # the layer's activations
    score = net[2:](A)[0, 2]
    (G,) = torch.autograd.grad(score, A)
    alpha = G.mean((2, 3), keepdim=True)  # alpha_k = mean of dY/dA_k
    raw = (alpha * A).sum(1)[0].detach().numpy()
    np.testing.assert_allclose(a.raw, raw, rtol=1e-5, atol=1e-7)
    relu = np.maximum(raw, 0)  # same resolution as the input
    np.testing.assert_allclose(a.map, (relu - relu.min()) / (relu.max() - relu.min()), atol=1e-6)
    assert a.target == 2 and a.layer == "relu1" and a.method == "gradcam"
    assert a.score == pytest.approx(score.item(), rel=1e-6)
    assert np.asarray(a) is a.map
    assert_left_as_found(before, tiny_cnn)


def test_map_is_bilinear_upsampling_of_relu_raw(tiny_cnn):
    module = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    m = cw.load_model(module, input_size=16, device="cpu")
    a = cw.cam(m, _x(1), layer="1", target=0, method="hirescam")
    assert a.raw.shape == (8, 8) and a.map.shape == (16, 16)
    up = F.interpolate(
        torch.from_numpy(np.maximum(a.raw, 0))[None, None],
        size=(16, 16),
        mode="bilinear",
        align_corners=False,
    )[0, 0].numpy()
    np.testing.assert_allclose(a.map, (up - up.min()) / (up.max() - up.min()), atol=1e-6)


def test_backward_stops_at_the_layer(tiny_cnn):
    assert tiny_cnn.layers  # the probe forward, done first
    seen = []
    handle = tiny_cnn.module.conv1.register_forward_hook(
        lambda m, i, o: seen.append(o.requires_grad)
    )
    try:
        cw.cam(tiny_cnn, _x(2), layer="conv2")
    finally:
        handle.remove()
    assert seen == [False]  # nothing before the layer is part of the graph


def test_batch_targets_and_chunks(tiny_cnn):
    x = _x(3, n=3)
    out = cw.cam(tiny_cnn, x, layer="conv2", target=[0, 1, 4], method="gradcam_plus_plus")
    assert [a.target for a in out] == [0, 1, 4]
    chunked = cw.cam(
        tiny_cnn, x, layer="conv2", target=[0, 1, 4], method="gradcam_plus_plus", batch_size=2
    )
    for a, b in zip(out, chunked):
        np.testing.assert_allclose(a.raw, b.raw, rtol=1e-5, atol=1e-7)
    one = cw.cam(tiny_cnn, x[1:2], layer="conv2", target=1, method="gradcam_plus_plus")
    np.testing.assert_allclose(one.raw, out[1].raw, rtol=1e-5, atol=1e-7)
    top = tiny_cnn.module(x).argmax(1).tolist()
    assert [a.target for a in cw.cam(tiny_cnn, x, layer="conv2")] == top


@pytest.mark.parametrize("method", CAM_METHODS.names())
def test_every_method_left_as_found_also_after_errors(lived_in_tiny_cnn, method):
    tiny_cnn, before = lived_in_tiny_cnn
    x = _x(4, n=2)
    out = cw.cam(tiny_cnn, x, layer="relu2", method=method)
    assert len(out) == 2 and all(a.map.shape == (16, 16) and a.raw.shape == (16, 16) for a in out)
    assert all(np.isfinite(a.raw).all() and 0 <= a.map.min() and a.map.max() <= 1 for a in out)
    assert_left_as_found(before, tiny_cnn)
    with pytest.raises(ParameterError, match="5 classes"):  # fails after the forward pass
        cw.cam(tiny_cnn, x, layer="relu2", target=[0, 7], method=method)
    assert_left_as_found(before, tiny_cnn)


def test_clear_errors(tiny_cnn):
    x = _x(5)
    with pytest.raises(cw.LayerNotFoundError, match="relu2"):
        cw.cam(tiny_cnn, x, layer="relu3")
    with pytest.raises(ValueError, match="not a spatial.*conv1, relu1, conv2, relu2"):
        cw.cam(tiny_cnn, x, layer="fc")
    with pytest.raises(ParameterError, match="gradcam_plus_plus"):
        cw.cam(tiny_cnn, x, method="gradcam+++")
    with pytest.raises(ParameterError, match="no parameter"):
        cw.cam(tiny_cnn, x, method="gradcam", smooth=True)
    with pytest.raises(ValueError, match="2 targets for 1 images"):
        cw.cam(tiny_cnn, x, target=[1, 2])
    with pytest.raises(TypeError, match="load_model"):
        cw.cam(tiny_cnn.module, x)

    # A layer the logits do not depend on.
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Conv2d(3, 2, 3), nn.Conv2d(3, 2, 3)
            self.fc = nn.Linear(2, 3)

        def forward(self, x):
            self.unused(x)
            return self.fc(self.used(x).mean((2, 3)))

    m = cw.load_model(TwoHeads(), input_size=8, device="cpu")
    before = model_snapshot(m)
    with pytest.raises(ValueError, match="does not depend on layer 'unused'"):
        cw.cam(m, _x(6, size=8), layer="unused")
    assert_left_as_found(before, m)


def test_default_layer_and_scorecam_constant_channels():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(6, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    with torch.no_grad():
        module[2].bias[:2] = -100.0  # channels 0 and 1 are zero everywhere
    m = cw.load_model(module, input_size=12, device="cpu")
    assert m.default_cam_layer == "3"
    x = _x(7, size=12)
    a = cw.cam(m, x, method="scorecam", target=1)
    assert a.layer == "3"
    # Reference: every channel's masked forward, as pytorch-grad-cam writes it.
    A = module[:4](x).detach()
    up = F.interpolate(A, size=(12, 12), mode="bilinear", align_corners=True)
    lo, hi = up.amin((2, 3), keepdim=True), up.amax((2, 3), keepdim=True)
    masks = (up - lo) / (hi - lo + 1e-8)
    with torch.no_grad():
        scores = module(x[0] * masks[0][:, None])[:, 1]
    raw = (scores.softmax(0)[:, None, None] * A[0]).sum(0).numpy()
    np.testing.assert_allclose(a.raw, raw, rtol=1e-5, atol=1e-7)


def test_eigencam_sign_and_projection(tiny_cnn):
    a = cw.cam(tiny_cnn, _x(8), layer="relu2", method="eigencam")
    A = tiny_cnn.module[:4](_x(8))[0].detach().numpy()
    R = A.reshape(A.shape[0], -1).T
    Rc = R - R.mean(0)
    v = np.linalg.svd(Rc, full_matrices=False)[2][0]
    proj = (Rc @ v).reshape(A.shape[1:])
    assert abs(_corr(a.raw, proj)) > 0.9999
    assert _corr(a.raw, R.sum(1)) > 0  # sign: along the summed activations


def test_resnet18_inplace_relus_and_reused_modules():
    import torchvision
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=10)
    m = cw.load_model(net, input_size=64, device="cpu")
    before = model_snapshot(m)
    x = _x(9, n=2, size=64)
    # bn2 is followed by an in-place `out += identity` and an in-place ReLU.
    for layer in ("layer4.1.bn2", "layer3.1.conv2"):
        out = cw.cam(m, x, layer=layer, target=[1, 2])
        assert all(np.isfinite(a.raw).all() for a in out)
    assert_left_as_found(before, m)
    out = cw.cam(m, x, target=[1, 2])
    assert out[0].layer == m.default_cam_layer
    with GradCAM(model=net, target_layers=[m.module_of(out[0].layer)]) as ref_cam:
        ref = ref_cam(
            input_tensor=x, targets=[ClassifierOutputTarget(1), ClassifierOutputTarget(2)]
        )
    net.zero_grad(set_to_none=True)  # pytorch-grad-cam leaves .grad behind
    for a, r in zip(out, ref):
        assert _corr(a.map, r) > 0.99


@pytest.mark.slow
def test_lite0_agrees_with_pytorch_grad_cam(lite0, cat, coffee):
    """The six methods on the pretrained EfficientNet-Lite0, maps at 224 x 224.

    pytorch-grad-cam normalises each map (min-max) and then resizes with cv2 (bilinear, half-
    pixel centres); we resize first (torch bilinear, the same centres) and then normalise, so
    the maps agree to about 1e-6 rather than bit for bit. EigenCAM's SVD sign is arbitrary in
    pytorch-grad-cam; ours follows the summed activations, so it is compared up to that sign.
    Score-CAM runs on a 16-channel layer (16 masked forwards instead of 1280).
    """
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM, XGradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    before = model_snapshot(lite0)
    x = lite0.preprocess([cat, coffee])
    peers = {
        "gradcam": GradCAM,
        "gradcam_plus_plus": GradCAMPlusPlus,
        "xgradcam": XGradCAM,
        "layercam": LayerCAM,
        "eigencam": EigenCAM,
        "scorecam": ScoreCAM,
    }
    for method, peer in peers.items():
        layer = "_blocks.0._bn2" if method == "scorecam" else None
        images = x if method == "gradcam" else x[:1]  # one batch of two, then one image
        ours = cw.cam(lite0, images, layer=layer, method=method)
        ours = ours if isinstance(ours, list) else [ours]
        assert ours[0].layer == (layer or "_act_head")
        assert [a.target for a in ours] == [282, 967][: len(ours)]
        assert_left_as_found(before, lite0)
        with peer(model=lite0.module, target_layers=[lite0.module_of(ours[0].layer)]) as c:
            ref = c(input_tensor=images, targets=[ClassifierOutputTarget(a.target) for a in ours])
        lite0.module.zero_grad(set_to_none=True)
        for a, r in zip(ours, ref):
            r_ours = _corr(a.map, r)
            if method == "eigencam" and r_ours < 0.99:  # the SVD gave them the other sign
                neg = torch.from_numpy(np.maximum(-a.raw, 0))[None, None]
                r_ours = _corr(F.interpolate(neg, size=(224, 224), mode="bilinear"), r)
            assert r_ours >= 0.99, f"{method}: r = {r_ours:.4f}"


def test_registry_names_aliases_and_a_users_method(tiny_cnn):
    x = _x(7)
    with pytest.warns(
        FutureWarning, match="'gradcam\\+\\+' is deprecated; use 'gradcam_plus_plus'"
    ):
        old = cw.cam(tiny_cnn, x, layer="relu2", method="gradcam++")
    new = cw.cam(tiny_cnn, x, layer="relu2", method="gradcam_plus_plus")
    np.testing.assert_array_equal(old.raw, new.raw)
    assert old.method == "gradcam_plus_plus"

    # A user's gradient method: the absolute value of the gradient, averaged (a made-up rule).
    @cw.cam_methods.register(
        "abs_gradcam",
        label="|G|-CAM",
        gradient=True,
        params=[cw.core.Param("power", "float", 1.0, min=0.5, max=3)],
    )
    def abs_gradcam(A, G, call, power):
        return (G.abs().pow(power).mean((2, 3), keepdim=True) * A).sum(1)

    try:
        a = cw.cam(tiny_cnn, x, layer="relu2", target=1, method="abs_gradcam", power=2)
        net = tiny_cnn.module
        A = net[:4](x).detach().requires_grad_()
        (G,) = torch.autograd.grad(net[4:](A)[0, 1], A)
        np.testing.assert_allclose(
            a.raw,
            (G.abs().pow(2).mean((2, 3), keepdim=True) * A).sum(1)[0].detach().numpy(),
            rtol=1e-5,
            atol=1e-8,
        )
        assert a.params == {"power": 2.0}
        with pytest.raises(ParameterError, match=r"'power' must lie in \[0.5, 3\]"):
            cw.cam(tiny_cnn, x, layer="relu2", method="abs_gradcam", power=9)
        assert "abs_gradcam" in [name for _label, name in cw.cam_methods.options()]
    finally:
        cw.cam_methods.unregister("abs_gradcam")
    assert "abs_gradcam" not in cw.cam_methods


def test_smoothgrad_of_gradcam_is_the_mean_over_noisy_copies(tiny_cnn):
    x = _x(8, n=2)
    s = cw.cam(
        tiny_cnn,
        x,
        layer="relu2",
        target=[1, 3],
        method="smoothgrad",
        base="gradcam",
        n_samples=4,
        noise=0.2,
        seed=5,
    )
    # The same noisy copies by hand: sample k of each image draws from stream (seed, k).
    sigma = 0.2 * (x.flatten(1).amax(1) - x.flatten(1).amin(1))
    for i, t in enumerate([1, 3]):
        copies = torch.stack(
            [
                x[i]
                + sigma[i]
                * torch.randn(
                    x.shape[1:], generator=torch.Generator().manual_seed(5 * 1_000_003 + k)
                )
                for k in range(4)
            ]
        )
        raws = cw.cam(tiny_cnn, copies, layer="relu2", target=t, method="gradcam")
        np.testing.assert_allclose(
            s[i].raw, np.mean([a.raw for a in raws], 0), rtol=1e-5, atol=1e-7
        )
    zero = cw.cam(tiny_cnn, x, layer="relu2", target=[1, 3], method="smoothgrad", noise=0)
    plain = cw.cam(tiny_cnn, x, layer="relu2", target=[1, 3])
    np.testing.assert_allclose(zero[0].raw, plain[0].raw, rtol=1e-6)
