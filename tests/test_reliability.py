"""No silent wrong answers, no races: the engine- and model-side reliability checks.

1. inputs: non-finite values, other dtypes and empty tensors are refused (or cast) in one place;
2. feature maps always equal a fresh forward pass, whatever edited the model in between;
3. a module that runs more than once per forward pass is addressed as "name@k" by every engine;
4. logits are picked from tuple/dict outputs only where that is certain;
5. crashes and unclear errors (empty images, float64 models, models without convolutions,
   odd targets and k, tracker states, ids and channels);
6. training and engine calls take turns on one model.
"""

from __future__ import annotations

import threading
import time
from collections import namedtuple

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

import cnnwidgets as cw
from cnnwidgets.core import CNNWidgetsError, InputError, ParameterError
from cnnwidgets.core.errors import ModelError, ModelOutputError
from cnnwidgets.core.layers import AmbiguousLayerError
from cnnwidgets.engines.spectrum import pre_activation_layer, pre_activation_layers
from cnnwidgets.engines.spectrum.receptive_field import receptive_field
from cnnwidgets.models.output import select_output

from .conftest import assert_left_as_found, model_snapshot

# ---- models ----------------------------------------------------------------------------------


def _bn_cnn():
    """A small CNN with BatchNorm (running statistics are buffers)."""
    torch.manual_seed(1)
    module = nn.Sequential()
    module.add_module("conv1", nn.Conv2d(3, 4, 3, padding=1))
    module.add_module("bn1", nn.BatchNorm2d(4))
    module.add_module("relu1", nn.ReLU())
    module.add_module("conv2", nn.Conv2d(4, 6, 3, padding=1))
    module.add_module("pool", nn.AdaptiveAvgPool2d(1))
    module.add_module("flatten", nn.Flatten())
    module.add_module("fc", nn.Linear(6, 5))
    module.eval()  # as the engines run it: BatchNorm reads its running statistics
    return cw.load_model(module, labels=[f"c{i}" for i in range(5)], input_size=16, device="cpu")


@pytest.fixture(scope="module")
def resnet():
    """torchvision's ResNet-18 (random weights, 10 classes) at 64 x 64: each block's `relu`
    runs twice per forward pass."""
    torch.manual_seed(0)
    module = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    return cw.load_model(module, labels=[f"c{i}" for i in range(10)], input_size=64, device="cpu")


def _inputs(n=2, size=16, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _call_outputs(model, layer_module, x):
    """Every output of ``layer_module`` in one plain forward pass, by a hook written here."""
    outs = []

    def hook(_mod, _inp, out):
        outs.append(out.detach().clone())  # ResNet's relu is in place: copy at once

    handle = layer_module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model.module(x)
    finally:
        handle.remove()
    return outs


# ---- 1. inputs -------------------------------------------------------------------------------

ENGINES = {
    "feature_maps": lambda m, x: cw.feature_maps(m, x, "conv2"),
    "cam": lambda m, x: cw.cam(m, x, layer="conv2"),
    "saliency": lambda m, x: cw.saliency(m, x),
    "predict": lambda m, x: m.predict(x),
    "spectrum": lambda m, x: cw.ActivationSpectrum(m, "conv2", k=1).update(x),
}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_is_an_error_naming_the_input(tiny_cnn, engine, bad):
    x = _inputs(2)
    x[1, 0, 3, :5] = bad
    before = model_snapshot(tiny_cnn)
    with pytest.raises(InputError) as info:
        ENGINES[engine](tiny_cnn, x)
    msg = str(info.value)
    assert "(2, 3, 16, 16)" in msg and "float32" in msg, msg
    assert "5 " in msg and ("NaN" if bad != bad else "infinite") in msg, msg
    assert "image 1" in msg, msg
    assert_left_as_found(before, tiny_cnn)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_float_inputs_are_cast_to_the_models_dtype(tiny_cnn, dtype):
    x = _inputs(1).to(dtype)
    assert tiny_cnn.prepare(x).dtype == torch.float32
    ref = cw.feature_maps(tiny_cnn, x.float(), "conv2")
    np.testing.assert_array_equal(cw.feature_maps(tiny_cnn, x, "conv2"), ref)
    assert cw.cam(tiny_cnn, x).map.shape == (16, 16)
    tiny_cnn.module.double()
    assert tiny_cnn.prepare(x).dtype == torch.float64


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_4d_tensors_are_refused(tiny_cnn, dtype):
    x = torch.zeros(1, 3, 16, 16, dtype=dtype)
    for engine in ENGINES.values():
        with pytest.raises(InputError, match="normali[sz]ed floats") as info:
            engine(tiny_cnn, x)
        assert str(dtype).replace("torch.", "") in str(info.value)
        assert "preprocess" in str(info.value)


@pytest.mark.parametrize("shape", [(0, 3, 16, 16), (1, 3, 0, 16), (2, 3, 16, 0)])
def test_empty_4d_tensors_are_refused(tiny_cnn, shape):
    for engine in ENGINES.values():
        with pytest.raises(InputError, match="empty") as info:
            engine(tiny_cnn, torch.zeros(shape))
        assert str(shape) in str(info.value)


def test_wrong_channel_count_is_an_input_error(tiny_cnn):
    with pytest.raises(InputError, match=r"\(N, 3, H, W\)"):
        tiny_cnn.prepare(torch.zeros(1, 4, 16, 16))


# ---- 2. feature maps are never stale -----------------------------------------------------------


def _fresh(model, x, upto):
    """The output of the Sequential's children up to ``upto``, called directly (no hooks)."""
    out = x
    with torch.no_grad():
        for name, mod in model.module.named_children():
            out = mod(out)
            if name == upto:
                return out[0].numpy()
    raise AssertionError(upto)


def _sgd_step(model):
    opt = torch.optim.SGD(model.module.parameters(), lr=0.5)
    model.module.train()
    loss = model.module(_inputs(4, seed=5)).square().mean()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    model.module.eval()


def _assign_state(model):
    state = {k: v * 2 + 0.1 for k, v in model.module.state_dict().items()}
    model.module.load_state_dict(state, assign=True)


EDITS = {
    "weight.data.mul_": lambda m: m.module.conv1.weight.data.mul_(2),
    "bias.data.copy_": lambda m: m.module.conv1.bias.data.copy_(torch.arange(4.0)),
    "load_state_dict": lambda m: m.module.load_state_dict(
        {k: v * 2 + 0.1 for k, v in m.module.state_dict().items()}
    ),
    "load_state_dict(assign=True)": _assign_state,
    "optimizer step": _sgd_step,
    "running_mean.add_": lambda m: m.module.bn1.running_mean.add_(1.0),
    "running_var.data.mul_": lambda m: m.module.bn1.running_var.data.mul_(4.0),
    "replaced submodule": lambda m: setattr(m.module, "relu1", nn.Tanh()),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_feature_maps_follow_every_edit_of_the_model(edit):
    m = _bn_cnn()
    x = _inputs(1, seed=3)
    first = cw.feature_maps(m, x, "conv2")
    np.testing.assert_allclose(first, _fresh(m, x, "conv2"), rtol=1e-5, atol=1e-6)
    EDITS[edit](m)
    again = cw.feature_maps(m, x, "conv2")
    np.testing.assert_allclose(again, _fresh(m, x, "conv2"), rtol=1e-5, atol=1e-6)
    assert not np.allclose(again, first), "the model changed, the maps must too"


def test_feature_maps_of_an_image_follow_a_weight_edit(tiny_cnn, cat):
    first = cw.feature_maps(tiny_cnn, cat, "conv2")
    tiny_cnn.module.conv1.weight.data.mul_(2)
    again = cw.feature_maps(tiny_cnn, cat, "conv2")
    np.testing.assert_allclose(
        again, _fresh(tiny_cnn, tiny_cnn.prepare(cat), "conv2"), rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(again, first)


# ---- 3. modules that run more than once ----------------------------------------------------------

RELU = "layer4.1.relu"


def test_layer_names_with_call_indices(resnet):
    assert resnet.layer_info[RELU].calls == 2
    assert RELU in resnet.layers  # module names: the public list is unchanged
    assert RELU not in resnet.spatial_layers and RELU not in resnet.layer_names
    for k in (0, 1):
        assert f"{RELU}@{k}" in resnet.spatial_layers and f"{RELU}@{k}" in resnet.layer_names
        assert resnet.resolve_layer(f"{RELU}@{k}") == (resnet.module.get_submodule(RELU), k)
        assert resnet.check_layer(f"{RELU}@{k}") == f"{RELU}@{k}"
        assert resnet.layer_info[f"{RELU}@{k}"].call == k
    assert resnet.resolve_layer("conv1") == (resnet.module.conv1, 0)
    assert "conv1" in resnet.layer_names and "conv1@0" not in resnet.layer_names
    with pytest.raises(AmbiguousLayerError) as info:
        resnet.check_layer(RELU)
    assert str(info.value) == (f"{RELU} runs 2 times per forward pass: use {RELU}@0 or {RELU}@1")
    assert isinstance(info.value, CNNWidgetsError)
    with pytest.raises(cw.LayerNotFoundError, match="runs 2 times"):
        resnet.check_layer(f"{RELU}@2")
    with pytest.raises(cw.LayerNotFoundError):
        resnet.check_layer("conv1@1")
    assert "@" not in resnet.default_cam_layer or resnet.default_cam_layer in resnet.layer_names
    assert resnet.layer_info[resnet.default_cam_layer].calls == 1 or "@" in (
        resnet.default_cam_layer
    )


def test_default_cam_layer_is_never_ambiguous():
    class LastIsShared(nn.Module):
        """The last spatial output comes from the second call of a shared module."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.act = nn.ReLU()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            h = self.act(self.conv(x))
            h = self.act(h - 0.5)
            return self.fc(h.mean((2, 3)))

    m = cw.load_model(LastIsShared(), input_size=8, device="cpu")
    assert m.default_cam_layer == "act@1"
    assert m.spatial_layers == ["conv", "act@0", "act@1"]


@pytest.mark.parametrize("k", [0, 1])
def test_every_engine_reads_the_same_call(resnet, k):
    x = _inputs(2, size=64, seed=7)
    module = resnet.module.get_submodule(RELU)
    outs = _call_outputs(resnet, module, x)
    assert len(outs) == 2 and not torch.allclose(outs[0], outs[1])
    want = outs[k]
    name = f"{RELU}@{k}"

    maps = cw.feature_maps(resnet, x, name)
    np.testing.assert_allclose(maps, want.numpy(), rtol=1e-4, atol=1e-5)

    def channel_sum(A, G, call):
        return A.sum(1)

    def grad_times_act(A, G, call):
        return (G * A).sum(1)

    cw.cam_methods.register("test_channel_sum", gradient=False, replace=True)(channel_sum)
    cw.cam_methods.register("test_grad_x_act", gradient=True, replace=True)(grad_times_act)
    try:
        raw = np.stack(
            [a.raw for a in cw.cam(resnet, x, name, target=3, method="test_channel_sum")]
        )
        np.testing.assert_allclose(raw, want.sum(1).numpy(), rtol=1e-4, atol=1e-4)
        got = np.stack([a.raw for a in cw.cam(resnet, x, name, target=3, method="test_grad_x_act")])
    finally:
        cw.cam_methods.unregister("test_channel_sum")
        cw.cam_methods.unregister("test_grad_x_act")
    # Independent gradient: the k-th output replaced by a leaf, logit 3 back-propagated to it.
    leaf = {}
    seen = [0]

    def hook(_mod, _inp, out):
        i, seen[0] = seen[0], seen[0] + 1
        if i == k:
            leaf["a"] = out.detach().clone().requires_grad_()
            return leaf["a"] * 1.0

    handle = module.register_forward_hook(hook)
    try:
        logits = resnet.module(x)
        logits[:, 3].sum().backward()
    finally:
        handle.remove()
        resnet.module.zero_grad(set_to_none=True)
    ref = (leaf["a"].grad * leaf["a"].detach()).sum(1).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-6)

    s = cw.ActivationSpectrum(resnet, name, channels=range(6), k=2).update(x)
    for c in range(6):
        ex = s.examples(c)
        assert ex["max"][0].value == pytest.approx(float(want[:, c].max()), rel=1e-4, abs=1e-5)
        assert ex["min"][0].value == pytest.approx(float(want[:, c].min()), rel=1e-4, abs=1e-5)


def test_feature_visualization_reads_the_named_call(resnet):
    name = f"{RELU}@1"
    result = cw.visualize(resnet, f"{name}:2", steps=1, size=64, transforms=None, seed=0)
    images = torch.as_tensor(np.asarray(result)).permute(0, 3, 1, 2)
    x = resnet.normalize(images)
    outs = _call_outputs(resnet, resnet.module.get_submodule(RELU), x)
    np.testing.assert_allclose(
        result.objective_values, outs[1][:, 2].mean((1, 2)).numpy(), rtol=1e-3, atol=1e-5
    )


def test_a_bare_name_of_a_shared_module_is_refused_by_every_engine(resnet):
    x = _inputs(1, size=64)
    calls = {
        "feature_maps": lambda: cw.feature_maps(resnet, x, RELU),
        "cam": lambda: cw.cam(resnet, x, RELU),
        "spectrum": lambda: cw.ActivationSpectrum(resnet, RELU, [0]),
        "visualize": lambda: cw.visualize(resnet, f"{RELU}:0", steps=1, size=32),
        "receptive_field": lambda: receptive_field(resnet, RELU),
        "pre_activation_layer": lambda: pre_activation_layer(resnet, RELU),
    }
    for what, call in calls.items():
        with pytest.raises(AmbiguousLayerError, match=f"use {RELU}@0 or {RELU}@1"):
            call()
            pytest.fail(what)


def test_pre_activation_discovery_per_call(resnet):
    # Call 0 reads bn1's output; call 1 reads bn2's output plus the shortcut, added in place
    # inside the block's forward: no named layer produces it.
    assert pre_activation_layer(resnet, f"{RELU}@0") == "layer4.1.bn1"
    with pytest.raises(ValueError, match="by hand"):
        pre_activation_layer(resnet, f"{RELU}@1")
    found = pre_activation_layers(resnet)
    assert "layer4.1.bn1" in found and "layer4.1.bn2" not in found
    assert all(n in resnet.layer_names for n in found)


def test_receptive_field_of_each_call(resnet):
    box0, _, _ = receptive_field(resnet, f"{RELU}@0")
    box1, _, _ = receptive_field(resnet, f"{RELU}@1", mass=None)
    assert len(box0) == 4 and len(box1) == 4


# ---- 4. logits from tuples and dicts ---------------------------------------------------------


class _Returns(nn.Module):
    """A classifier that returns ``shape_fn(features, logits)``."""

    def __init__(self, wrap):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 7)
        self.wrap = wrap

    def forward(self, x):
        feats = self.conv(x).mean((2, 3))
        return self.wrap(feats, self.fc(feats))


Out = namedtuple("Out", ["logits", "aux"])
LABELS7 = [f"c{i}" for i in range(7)]


def _wrap(wrap, **kw):
    return cw.load_model(_Returns(wrap), input_size=8, device="cpu", **kw)


def _plain_logits(m, x):
    with torch.no_grad():
        return m.module.fc(m.module.conv(x).mean((2, 3)))


def test_certain_outputs_are_picked():
    x = _inputs(2, size=8)
    cases = [
        lambda f, lg: lg,  # a single tensor
        lambda f, lg: Out(lg, f),  # a .logits attribute
        lambda f, lg: {"features": f, "logits": lg},  # a "logits" key
    ]
    for wrap in cases:
        m = _wrap(wrap)
        torch.testing.assert_close(m.logits(x), _plain_logits(m, x))
    # The one (N, K) tensor, beside feature maps.
    m = _wrap(lambda f, lg: (f[:, :, None, None], lg))
    torch.testing.assert_close(m.logits(x), _plain_logits(m, x))
    # With labels: the one tensor whose last dimension is the label count.
    for wrap in (
        lambda f, lg: (f, lg),
        lambda f, lg: {"features": f, "class_scores": lg},
        lambda f, lg: {"a": [f, {"deep": lg}]},
    ):
        m = _wrap(wrap, labels=LABELS7)
        torch.testing.assert_close(m.logits(x), _plain_logits(m, x))
        assert m.num_classes == 7


@pytest.mark.parametrize(
    "wrap, shown",
    [
        (lambda f, lg: (f, lg), ["[0] Tensor (2, 4)", "[1] Tensor (2, 7)"]),
        (
            lambda f, lg: {"features": f, "class_scores": lg},
            ["['features'] Tensor (2, 4)", "['class_scores'] Tensor (2, 7)"],
        ),
    ],
)
def test_uncertain_outputs_are_an_error_showing_the_structure(wrap, shown):
    m = _wrap(wrap)
    with pytest.raises(ModelOutputError) as info:
        m.logits(_inputs(2, size=8))
    msg = str(info.value)
    for line in shown:
        assert line in msg, msg
    assert "output=" in msg
    # Labels that match two tensors, or none, are no more certain.
    both = _wrap(lambda f, lg: (lg, lg * 2), labels=LABELS7)
    with pytest.raises(ModelOutputError, match="output="):
        both.logits(_inputs(1, size=8))
    with pytest.raises(ModelOutputError, match="output="):
        _wrap(wrap, labels=LABELS7[:3]).logits(_inputs(1, size=8))


def test_picking_with_output_and_bad_selectors():
    x = _inputs(2, size=8)
    m = _wrap(lambda f, lg: (f, lg), output=1)
    torch.testing.assert_close(m.logits(x), _plain_logits(m, x))
    m = _wrap(lambda f, lg: {"f": f, "s": lg}, output="s")
    torch.testing.assert_close(m.logits(x), _plain_logits(m, x))
    m = _wrap(lambda f, lg: {"f": f, "s": lg}, output=lambda out: out["s"])
    torch.testing.assert_close(m.logits(x), _plain_logits(m, x))

    with pytest.raises(ModelOutputError, match=r"output=5.*tuple of 2") as info:
        _wrap(lambda f, lg: (f, lg), output=5).logits(x)
    assert "[1] Tensor (2, 7)" in str(info.value)
    with pytest.raises(ModelOutputError, match="'scores'.*'f', 's'"):
        _wrap(lambda f, lg: {"f": f, "s": lg}, output="scores").logits(x)

    def broken(out):
        return out["nope"]

    with pytest.raises(ModelOutputError, match="broken.*KeyError") as info:
        _wrap(lambda f, lg: {"f": f, "s": lg}, output=broken).logits(x)
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(ModelOutputError, match="not a tensor"):
        _wrap(lambda f, lg: (f, "text"), output=1).logits(x)
    with pytest.raises(ModelOutputError, match=r"\(N, classes\)"):
        select_output(torch.zeros(2, 3, 4, 4))


# ---- 5. crashes and unclear errors ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 5, 3), (5, 0, 3)])
def test_an_empty_image_is_refused_by_the_preprocessing(tiny_cnn, shape):
    img = np.zeros(shape, np.uint8)
    for call in (
        lambda: cw.cam(tiny_cnn, img),
        lambda: cw.feature_maps(tiny_cnn, img, "conv1"),
        lambda: tiny_cnn.preprocess(img),
    ):
        # The image loader refuses it first (ImageLoadError is an InputError).
        with pytest.raises(InputError, match="empty|no pixels"):
            call()


def test_preprocess_of_no_images_is_an_input_error(tiny_cnn):
    with pytest.raises(InputError, match="no images"):
        tiny_cnn.preprocess([])


def test_feature_visualization_follows_a_float64_model(tiny_cnn):
    tiny_cnn.module.double()
    result = cw.visualize(tiny_cnn, "conv2:1", steps=3, size=16, seed=0)
    assert np.asarray(result).shape == (1, 16, 16, 3)
    assert np.isfinite(result.objective_values).all()
    w = cw.FeatureVisualizer(tiny_cnn, "conv2", 1, steps=2, size=16)
    try:
        w.run()
        assert w.error == "" and w.result is not None
    finally:
        w.close()


def test_spectrum_viewer_with_optimized_images_on_a_float64_model(tiny_cnn):
    tiny_cnn.module.double()
    data = torch.randn(6, 3, 16, 16, dtype=torch.float64)
    w = cw.SpectrumViewer(
        tiny_cnn, "conv2", data, channels=[0, 1], k=2, optimized=True, autostart=False
    )
    try:
        w.optimized_steps = 2
        w.run()
        w.flush()
        assert w.error == "", w.error
    finally:
        w.close()


def _no_conv_model():
    module = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
    return cw.load_model(module, input_size=8, device="cpu")


@pytest.mark.parametrize("widget", ["FeatureMapViewer", "FeatureVisualizer", "GradCAMViewer"])
def test_widgets_on_a_model_without_convolutions_give_a_clear_error(widget, capfd):
    import gc

    m = _no_conv_model()
    args = (m, "cat") if widget != "FeatureVisualizer" else (m,)
    with pytest.raises(ModelError, match="spatial"):
        getattr(cw, widget)(*args)
    gc.collect()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_default_cam_layer_of_a_model_without_convolutions(tiny_cnn):
    m = _no_conv_model()
    with pytest.raises(ModelError, match="spatial"):
        _ = m.default_cam_layer
    with pytest.raises(ModelError, match="spatial"):
        cw.cam(m, _inputs(1, size=8))


def test_targets_given_as_tensors_and_arrays(tiny_cnn):
    x = _inputs(1)
    ref = cw.cam(tiny_cnn, x, target=4)
    for t in (torch.tensor(4), np.int64(4), np.array(4), torch.tensor([4]), [torch.tensor(4)]):
        a = cw.cam(tiny_cnn, x, target=t)
        assert a.target == 4 and np.array_equal(a.raw, ref.raw)
        assert cw.saliency(tiny_cnn, x, target=t).target == 4
    for bad, words in (
        (torch.tensor(4.5), "4.5"),
        (torch.tensor(True), "True"),
        (torch.tensor([[4]]), r"shape \(1, 1\)"),
        (4.0, "float"),
    ):
        with pytest.raises(ParameterError, match=words):
            cw.cam(tiny_cnn, x, target=bad)


@pytest.mark.parametrize("k", [-1, 0, 2.5, True, "3"])
def test_predict_k_must_be_a_positive_whole_number(tiny_cnn, k):
    with pytest.raises(ParameterError, match="k must be a positive whole number"):
        tiny_cnn.predict(_inputs(1), k=k)


def test_predict_k_larger_than_the_classes_gives_every_class(tiny_cnn):
    assert len(tiny_cnn.predict(_inputs(1), k=50)) == 5


def test_spectrum_load_state_dict_names_what_is_wrong(tiny_cnn):
    s = cw.ActivationSpectrum(tiny_cnn, "conv2", [0, 1], k=2).update(_inputs(3))
    good = s.state_dict()
    with pytest.raises(InputError, match="missing.*config.*images_seen"):
        s.load_state_dict({})
    with pytest.raises(InputError, match="not a state"):
        s.load_state_dict("state")
    partial = s.state_dict()
    del partial["columns"]["max"]
    with pytest.raises(InputError, match="column 'max' is missing"):
        s.load_state_dict(partial)
    partial = s.state_dict()
    del partial["columns"]["min"]["crop"]
    with pytest.raises(InputError, match="column 'min'.*'crop' is missing"):
        s.load_state_dict(partial)
    wrong = s.state_dict()
    wrong["columns"]["max"]["val"] = torch.zeros(3, 2)
    with pytest.raises(InputError, match=r"'max'.*'val'.*\(3, 2\).*\(2, 2\)"):
        s.load_state_dict(wrong)
    other = cw.ActivationSpectrum(tiny_cnn, "conv2", [0, 1, 2], k=2).state_dict()
    with pytest.raises(InputError, match="other settings: channels"):
        s.load_state_dict(other)
    # A refused state leaves the tracker as it was.
    assert s.images_seen == 3
    s.load_state_dict(good)
    assert s.images_seen == 3 and s.examples(0)["max"]


def test_spectrum_ids_name_images_once(tiny_cnn):
    x = _inputs(3)
    s = cw.ActivationSpectrum(tiny_cnn, "conv2", [0, 1], k=3)
    with pytest.raises(InputError, match="'a'.*more than once"):
        s.update(x, ids=["a", "a", "a"])
    assert s.images_seen == 0  # refused before anything was counted
    s.update(x, ids=["a", "b", "c"])
    with pytest.raises(InputError, match="'b'.*already"):
        s.update(x[:1], ids=["b"])
    with pytest.raises(InputError, match="hashable"):
        s.update(x[:1], ids=[["list"]])
    for ex in s.examples(0).values():
        ids = [e.image_id for e in ex]
        assert len(ids) == len(set(ids))


def test_spectrum_channels_must_be_whole_numbers(tiny_cnn):
    with pytest.raises(ParameterError, match="1.5"):
        cw.ActivationSpectrum(tiny_cnn, "conv2", [1.5])
    with pytest.raises(ParameterError, match="True"):
        cw.ActivationSpectrum(tiny_cnn, "conv2", [True])
    s = cw.ActivationSpectrum(tiny_cnn, "conv2", [1.0, np.int64(2), torch.tensor(3)])
    assert s.channels == [1, 2, 3] and all(type(c) is int for c in s.channels)


# ---- 6. training and engines take turns ---------------------------------------------------------


def _train_data(n=16):
    g = torch.Generator().manual_seed(0)
    return torch.utils.data.TensorDataset(
        torch.randn(n, 3, 16, 16, generator=g), torch.randint(0, 5, (n,), generator=g)
    )


def _together(first, second, timeout=60):
    """Run two callables in two threads, ``first`` started first; return their exceptions."""
    errors = []

    def guarded(fn):
        def run():
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - every failure is the test's finding
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(fn), daemon=True) for fn in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hangs: a deadlock?"
    return errors


@pytest.mark.parametrize("train_first", [False, True])
def test_train_and_engine_calls_take_turns(tiny_cnn, train_first):
    x, data = _inputs(1), _train_data()
    for trial in range(40):
        training = threading.Event()

        def train():
            training.set()
            try:
                cw.train(tiny_cnn, data, epochs=1, batch_size=8, schedule=None, progress=False)
            finally:
                training.clear()

        def engines():
            # Until training has started and ended again (or for a while when it started
            # first and is already done).
            deadline = time.monotonic() + 5
            while not training.is_set() and time.monotonic() < deadline and not train_first:
                cw.feature_maps(tiny_cnn, x, "conv2")
            for _ in range(3):
                cw.cam(tiny_cnn, x)
                cw.feature_maps(tiny_cnn, x, "conv2")
            while training.is_set():
                cw.cam(tiny_cnn, x)

        order = (train, engines) if train_first else (engines, train)
        errors = _together(*order)
        assert not errors, f"trial {trial}: {errors[0]!r}"
        assert all(p.requires_grad for p in tiny_cnn.module.parameters())
        assert all(p.grad is None for p in tiny_cnn.module.parameters())


def test_training_monitor_beside_a_running_feature_visualizer(tiny_cnn, no_thread_leak):
    for trial in range(6):
        fv = cw.FeatureVisualizer(tiny_cnn, "conv2", 0, steps=400, size=16)
        tm = cw.TrainingMonitor(tiny_cnn, _train_data(), epochs=1, batch_size=8, schedule=None)
        try:
            first, second = (fv, tm) if trial % 2 == 0 else (tm, fv)
            first.start()
            time.sleep(0.01)
            second.start()
            tm.wait(60)
            assert not tm.is_alive and tm.error == "", f"trial {trial}: {tm.error}"
            assert tm.history is not None and len(tm.history.batches) == 2
            fv.stop()
            assert fv.error == "", f"trial {trial}: {fv.error}"
        finally:
            fv.close()
            tm.close()
