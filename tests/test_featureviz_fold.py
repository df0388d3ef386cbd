"""Batch norm folded into its convolution for renders (featureviz/fold.py).

Equivalence is checked in float64, where folding changes values only by rounding (1e-15), so
a wrong scale, shift or pairing fails by orders of magnitude; and in float32 as the render
runs. There ReLU6 kinks amplify rounding: folding moves Lite0's activations by about 2e-6 of
their range and the input gradient by 4e-4 to 2.4e-3 of its norm, while the unfolded model's
own gradient moves by 2e-3 to 7e-3 when its input is perturbed by 1e-6 (measured on two
random inputs); so float32 gradients are compared by norm, within 1e-2. Batch-norm
statistics are randomised wherever a model comes with its initial ones (mean 0, variance 1,
gamma 1, beta 0), which would make folding nearly the identity.
"""

from __future__ import annotations

import threading
import types

import numpy as np
import pytest
import torch
from torch import nn

import cnnwidgets as cw
from cnnwidgets.core import preserved
from cnnwidgets.core.hooks import capture, run_until_captured
from cnnwidgets.core.layers import probe_layers
from cnnwidgets.engines.featureviz import fold
from cnnwidgets.engines.featureviz.fold import FoldedBatchNorm2d, fold_weights, folded
from cnnwidgets.models.efficientnet_lite import efficientnet_lite0

from .conftest import assert_left_as_found, model_snapshot


def randomize_batchnorms(module: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d) and m.running_mean is not None:
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.1)
                if m.affine:
                    m.weight.copy_(torch.randn(n, generator=g))
                    m.bias.copy_(torch.randn(n, generator=g))


def layer_and_grad(model, module: nn.Module, x: torch.Tensor, layer: str):
    """The activation of ``layer`` (looked up by name in ``module``) and the gradient at the
    input of a fixed random projection of it."""
    x = x.detach().clone().requires_grad_(True)
    target = module.get_submodule(layer)
    with (
        preserved(model.module),
        capture({layer: target}, stop_after_last=True, transform=torch.Tensor.clone) as store,
    ):
        run_until_captured(lambda: module(x))
        a = store[layer]
        g = torch.Generator().manual_seed(1)
        weights = torch.randn(a.shape, generator=g).to(a)
        (a * weights).sum().backward()
    return a.detach(), x.grad


def assert_same_in_float64(model, fmodule, layers, size=None):
    x = torch.randn(2, 3, *(size or model.input_size), generator=torch.Generator().manual_seed(2))
    x = x.to(torch.float64)
    if model.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    for layer in layers:
        a0, g0 = layer_and_grad(model, model.module, x, layer)
        a1, g1 = layer_and_grad(model, fmodule, x, layer)
        assert float((a1 - a0).abs().max()) <= 1e-10 * float(a0.abs().max()), layer
        assert float((g1 - g0).abs().max()) <= 1e-10 * float(g0.abs().max()), layer


def batchnorm_names(module: nn.Module) -> list[str]:
    return [n for n, m in module.named_modules() if isinstance(m, nn.BatchNorm2d)]


# ---- the three models of the brief ----------------------------------------------------------
@pytest.fixture(scope="module")
def lite0_f64():
    # At 64 px: float64 convolutions have no fast CPU kernels, and the probe runs at the
    # model's input size.
    return cw.load_model(efficientnet_lite0().double(), input_size=64, name="lite0 f64")


def test_lite0_folds_every_batchnorm_and_matches_the_model_in_float64(lite0_f64):
    m = lite0_f64
    before = model_snapshot(m)
    f = folded(m)
    bns = batchnorm_names(m.module)
    assert len(bns) == 49 and sorted(bn for _, bn in f.pairs) == sorted(bns)
    assert ("_conv_stem", "_bn0") in f.pairs and ("_conv_head", "_bn1") in f.pairs
    # A batch-norm layer, a ReLU6 after one, a block with its skip, the last spatial layer.
    assert_same_in_float64(
        m, f.module, ["_blocks.3._bn1", "_blocks.5._act0", "_blocks.9", "_act_head"]
    )
    assert_left_as_found(before, m)
    assert all(isinstance(m.module.get_submodule(bn), nn.BatchNorm2d) for bn in bns)


def test_folded_lite0_in_float32_gives_the_same_activations_and_gradients(lite0):
    f = folded(lite0)
    assert f.pairs
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    x = x.contiguous(memory_format=torch.channels_last)
    for layer in ("_blocks.6", "_blocks.8._bn2"):
        a0, g0 = layer_and_grad(lite0, lite0.module, x, layer)
        a1, g1 = layer_and_grad(lite0, f.module, x, layer)
        assert float((a1 - a0).abs().max()) <= 1e-4 * float(a0.abs().max())
        assert float((g1 - g0).norm()) <= 1e-2 * float(g0.norm())


def test_resnet18_folds_every_batchnorm_including_the_downsample_paths():
    m = cw.load_model("resnet18", pretrained=False)
    m.module.double()
    randomize_batchnorms(m.module)
    f = folded(m)
    assert len(f.pairs) == 20 and sorted(bn for _, bn in f.pairs) == sorted(
        batchnorm_names(m.module)
    )
    assert ("layer2.0.downsample.0", "layer2.0.downsample.1") in f.pairs
    # After the in-place ReLU that follows a folded batch norm, the skip's sum, the head.
    assert_same_in_float64(
        m, f.module, ["layer1.0.bn2", "layer2.0", "layer4.1.bn1", "fc"], (64, 64)
    )


def test_inceptionv1_has_no_batchnorm_and_folding_is_a_no_op():
    m = cw.load_model("inceptionv1", pretrained=False)
    f = folded(m)
    assert f.pairs == () and f.module is m.module


def test_folded_weights_are_the_batchnorm_of_the_convolution():
    torch.manual_seed(0)
    for bias, affine in ((False, True), (True, True), (True, False)):
        conv = nn.Conv2d(4, 6, 3, padding=1, bias=bias).double()
        bn = nn.BatchNorm2d(6, eps=1e-3, affine=affine).double().eval()
        randomize_batchnorms(bn, seed=int(bias))
        w, b = fold_weights(conv, bn)
        x = torch.randn(2, 4, 9, 9, dtype=torch.float64)
        expected = bn(conv(x))
        got = nn.functional.conv2d(x, w, b, padding=1)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


# ---- what must not fold --------------------------------------------------------------------
class WeightStandardized(nn.Conv2d):
    """A convolution that normalises its weight: scaling the weight changes nothing."""

    def forward(self, x):
        w = self.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        return nn.functional.conv2d(x, w, self.bias, self.stride, self.padding)


class Keeper(nn.Module):
    """Keeps a tensor for later without computing with it (read in a later forward pass)."""

    def __init__(self):
        super().__init__()
        # In a holder: rebinding an attribute of the module itself changes the structure
        # that the fold cache keys on, and every call would build a new copy.
        self.store = types.SimpleNamespace(kept=None)

    def forward(self, kept, h):
        self.store.kept = kept
        return h


class Readers(nn.Module):
    """One conv -> batch norm pair that folds, and one of each reason not to."""

    def __init__(self):
        super().__init__()

        def pair(name, conv=None, bn=None):
            setattr(self, f"c_{name}", conv or nn.Conv2d(8, 8, 3, padding=1, bias=False))
            setattr(self, f"bn_{name}", bn or nn.BatchNorm2d(8))

        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        pair("ok")
        pair("skip")  # the conv's output also feeds a skip connection
        pair("identity")  # an Identity between them
        self.between = nn.Identity()
        pair("wrapped")  # the conv inside a container whose output is the conv's output
        self.wrap = nn.Sequential(self.c_wrapped)
        pair("shared")  # one conv run twice
        pair("batchstats", bn=nn.BatchNorm2d(8, track_running_stats=False))
        pair("standardized", conv=WeightStandardized(8, 8, 3, padding=1))
        pair("returned")  # the conv's output is also returned by the model
        pair("kept")  # handed to a module that keeps it
        self.keeper = Keeper()
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.stem(x).relu()
        h = self.bn_ok(self.c_ok(h)).relu()
        c = self.c_skip(h)
        h = (self.bn_skip(c) + c).relu()
        h = self.bn_identity(self.between(self.c_identity(h))).relu()
        h = self.bn_wrapped(self.wrap(h)).relu()
        h = self.bn_shared(self.c_shared(h)) + self.c_shared(h)
        h = self.bn_batchstats(self.c_batchstats(h)).relu()
        h = self.bn_standardized(self.c_standardized(h)).relu()
        c = self.c_kept(h)
        h = (self.bn_kept(c) + self.keeper(c, h)).relu()
        r = self.c_returned(h)
        h = self.bn_returned(r)
        return self.head(h.mean((2, 3))), r


@pytest.fixture()
def readers():
    torch.manual_seed(0)
    module = Readers()
    randomize_batchnorms(module)
    return cw.load_model(module, input_size=16, output=0, labels=["a", "b", "c"])


def test_only_the_pair_whose_conv_output_only_the_batchnorm_reads_folds(readers):
    f = folded(readers)
    assert f.pairs == (("c_ok", "bn_ok"),)
    assert isinstance(f.module.bn_ok, FoldedBatchNorm2d)
    assert isinstance(f.module.bn_skip, nn.BatchNorm2d)
    readers.module.double()
    assert_same_in_float64(readers, folded(readers).module, ["bn_ok", "bn_skip", "head"])


def test_a_hooked_convolution_keeps_its_raw_output(lite0):
    conv = "_blocks.8._project_conv"
    f = folded(lite0, keep={conv})
    assert (conv, "_blocks.8._bn2") not in f.pairs
    assert isinstance(f.module.get_submodule("_blocks.8._bn2"), nn.BatchNorm2d)
    assert len(f.pairs) == len(batchnorm_names(lite0.module)) - 1
    x = torch.randn(1, 3, 224, 224).contiguous(memory_format=torch.channels_last)
    a0, _ = layer_and_grad(lite0, lite0.module, x, conv)
    a1, _ = layer_and_grad(lite0, f.module, x, conv)
    assert float((a1 - a0).abs().max()) <= 1e-4 * float(a0.abs().max())


class CountingHook:
    """A user's hook that keeps state in itself (a deep copy of the module would copy it)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1


@pytest.mark.parametrize("where", ["c_ok", "bn_ok", "stem", "head"])
@pytest.mark.parametrize("kind", ["forward", "forward_pre", "full_backward"])
def test_any_hook_of_the_users_stops_the_fold(readers, where, kind):
    # On a folded pair a hook would see other values; anywhere, it would run on the copy.
    hook = CountingHook()
    h = getattr(readers.module.get_submodule(where), f"register_{kind}_hook")(hook)
    try:
        assert folded(readers).pairs == ()
        assert hook.calls == 0  # nor was it called by a probe or a check
    finally:
        h.remove()
    assert folded(readers).pairs == (("c_ok", "bn_ok"),)


def test_a_global_module_hook_stops_the_fold(readers):
    h = nn.modules.module.register_module_forward_hook(lambda *a: None)
    try:
        assert folded(readers).pairs == ()
    finally:
        h.remove()
    assert folded(readers).pairs


def test_the_render_calls_a_users_hook_object_on_every_step(readers):
    hook = CountingHook()
    h = readers.module.stem.register_forward_hook(hook)
    try:
        run = cw.featureviz.ascent(readers, "bn_ok:1", steps=3, size=16, seed=0)
        assert run.folded_pairs == ()
        before = hook.calls  # the layer table's probe pass may have run
        for _ in run:
            pass
        assert hook.calls - before == 3
    finally:
        h.remove()


def test_a_parametrized_convolution_does_not_fold(readers):
    from torch.nn.utils import parametrize

    class Scale(nn.Module):
        def forward(self, w):
            return w * 2

    parametrize.register_parametrization(readers.module.c_ok, "weight", Scale())
    assert folded(readers).pairs == ()


# ---- between the steps of a render ------------------------------------------------------------
def first_step_values(model, objective, fold_batchnorm, between=None):
    run = cw.featureviz.ascent(
        model, objective, steps=2, size=16, seed=0, transforms=None, fold_batchnorm=fold_batchnorm
    )
    if between is not None:
        between(run)
    return run, next(run).values


def test_in_place_changes_of_the_models_values_reach_the_next_step(readers):
    # A training loop beside the render: an optimiser step changes the weights in place, and
    # batch-norm statistics move. The next step must run the model as it is now.
    module = readers.module.double()

    def train_a_little(_run):
        with torch.no_grad():
            module.c_ok.weight.mul_(1.5)
            module.bn_ok.running_var.add_(0.7)
            module.bn_ok.bias.sub_(0.3)
            module.stem.weight.mul_(-1)  # not folded: shared with the copy

    on, v_on = first_step_values(readers, "bn_ok:1", True, train_a_little)
    assert on.folded_pairs == (("c_ok", "bn_ok"),)
    off, v_off = first_step_values(readers, "bn_ok:1", False)  # the model as changed
    np.testing.assert_allclose(v_on, v_off, rtol=1e-10)
    torch.testing.assert_close(adam_gradients(on), adam_gradients(off), rtol=1e-9, atol=1e-12)


def test_a_replaced_parameter_between_steps_folds_afresh(readers):
    module = readers.module.double()

    def load_new_weights(_run):
        state = {k: v * 1.1 if v.is_floating_point() else v for k, v in module.state_dict().items()}
        module.load_state_dict(state, assign=True)

    on, v_on = first_step_values(readers, "bn_ok:1", True, load_new_weights)
    assert on.folded_pairs == (("c_ok", "bn_ok"),)
    _, v_off = first_step_values(readers, "bn_ok:1", False)
    np.testing.assert_allclose(v_on, v_off, rtol=1e-10)


def test_a_hook_added_between_steps_makes_the_render_run_the_model_itself(readers):
    run = cw.featureviz.ascent(readers, "bn_ok:1", steps=3, size=16, seed=0)
    assert run.folded_pairs
    next(run)
    hook = CountingHook()
    h = readers.module.bn_ok.register_forward_hook(hook)
    try:
        next(run)
        assert run.folded_pairs == () and hook.calls == 1
    finally:
        h.remove()
    next(run)  # the rest of this render stays on the model itself
    assert run.folded_pairs == () and hook.calls == 1


# ---- the copy: names, the model left alone, the cache ----------------------------------------
def test_folded_copy_has_the_models_layer_names(lite0):
    f = folded(lite0)
    found = [info.name for info in probe_layers(f.module, lite0.example_input())]
    assert found == lite0.layers
    assert isinstance(f.module.get_submodule("_blocks.2._bn1"), FoldedBatchNorm2d)


def test_a_training_model_is_left_as_found(readers):
    readers.module.train()
    readers.module.c_ok.weight.grad = torch.ones_like(readers.module.c_ok.weight)
    readers.module.bn_ok.weight.requires_grad_(False)
    before = model_snapshot(readers)
    assert folded(readers).pairs
    assert_left_as_found(before, readers)


def test_the_copy_is_cached_and_follows_edits_of_the_models_values(readers):
    module = readers.module
    readers.module.double()
    first = folded(readers)
    assert folded(readers).module is first.module  # not built again
    with torch.no_grad():
        module.c_ok.weight.data.mul_(1.5)  # .data: the version counter does not move
        module.bn_ok.running_var.data.add_(0.7)
        module.stem.weight.data.mul_(-1)  # not folded: the copy shares this parameter
    again = folded(readers)
    assert again.module is first.module
    assert_same_in_float64(readers, again.module, ["bn_ok", "head"])


def test_a_new_structure_builds_a_new_copy(readers):
    module = readers.module
    module.double()
    first = folded(readers)
    # load_state_dict(assign=True) puts new tensor objects in place.
    state = {
        k: v.clone() * 1.1 if v.is_floating_point() else v for k, v in module.state_dict().items()
    }
    module.load_state_dict(state, assign=True)
    second = folded(readers)
    assert second.module is not first.module
    assert_same_in_float64(readers, second.module, ["bn_ok", "head"])
    # A replaced submodule, and a changed attribute.
    module.c_ok = nn.Conv2d(8, 8, 5, padding=2, bias=True).double()
    third = folded(readers)
    assert third.module is not second.module and third.pairs == (("c_ok", "bn_ok"),)
    assert_same_in_float64(readers, third.module, ["bn_ok", "head"])
    module.bn_ok.eps = 0.5
    fourth = folded(readers)
    assert fourth.module is not third.module
    assert_same_in_float64(readers, fourth.module, ["bn_ok", "head"])


def test_folding_does_not_disturb_forward_passes_in_other_threads(readers):
    # torch.fx.symbolic_trace patches nn.Module.__call__ process-wide and made other threads'
    # forward passes fail; the probe must not.
    other = cw.load_model("resnet18", pretrained=False)
    x = other.example_input()
    errors, stop = [], threading.Event()

    def forwards():
        while not stop.is_set():
            try:
                with torch.no_grad():
                    out = other.module(x)
                if not isinstance(out, torch.Tensor):
                    errors.append(type(out))
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(exc)

    t = threading.Thread(target=forwards)
    t.start()
    try:
        for k in range(5):
            readers.module.bn_ok.eps = 1e-5 * (k + 1)  # a new structure: probe and build again
            assert folded(readers).pairs
    finally:
        stop.set()
        t.join()
    assert errors == []


# ---- in the render loop ---------------------------------------------------------------------
def adam_gradients(run) -> torch.Tensor:
    """The gradient of the first step, as Adam holds it: exp_avg = (1 - beta1) * g."""
    return torch.cat([run.optimizer.state[p]["exp_avg"].flatten() for p in run.param.parameters()])


def test_ascent_folds_on_the_cpu_by_default_and_takes_the_same_first_step(lite0):
    # Only the first step can be compared: Adam's first update is lr * sign(gradient), so a
    # rounding-sized difference in a near-zero gradient entry moves that coefficient by the
    # whole learning rate, and the runs part ways as two unfolded runs with different
    # thread counts would.
    settings = dict(steps=1, size=32, input_size=64, seed=0, transforms=None)
    objs = ["_blocks.6:3", "_blocks.8._bn2:5"]
    on = cw.featureviz.ascent(lite0, objs, **settings)
    off = cw.featureviz.ascent(lite0, objs, fold_batchnorm=False, **settings)
    assert on.fold_batchnorm and len(on.folded_pairs) == 49
    assert off.folded_pairs == ()
    np.testing.assert_allclose(next(on).values, next(off).values, rtol=1e-4, atol=1e-6)
    g_on, g_off = adam_gradients(on), adam_gradients(off)
    assert float((g_on - g_off).norm()) <= 1e-2 * float(g_off.norm())
    # evaluate() runs the model itself, whichever the steps ran.
    images = off.current_images()
    np.testing.assert_array_equal(on.evaluate(images), off.evaluate(images))


def test_ascent_keeps_the_convolution_an_objective_reads_and_folds_for_logits(lite0):
    conv = "_blocks.8._project_conv"
    run = cw.featureviz.ascent(lite0, f"{conv}:4", steps=1, size=32, input_size=64, seed=0)
    assert run.folded_pairs and conv not in {c for c, _ in run.folded_pairs}
    values = {}
    for fold_bn in (True, False):
        r = cw.featureviz.ascent(
            lite0,
            [f"{conv}:4", cw.featureviz.class_logit(281)],
            steps=1,
            size=32,
            input_size=64,
            seed=0,
            fold_batchnorm=fold_bn,
        )
        values[fold_bn] = next(r).values
        assert bool(r.folded_pairs) == fold_bn
    np.testing.assert_allclose(values[True], values[False], rtol=1e-4, atol=1e-5)


def test_ascent_with_nothing_to_fold_runs_the_model_itself(tiny_cnn):
    run = cw.featureviz.ascent(tiny_cnn, "conv2:1", steps=1, size=12, fold_batchnorm=True)
    assert run.folded_pairs == ()
    next(run)


def test_the_cache_lets_go_of_a_model_nobody_holds():
    import gc
    import weakref

    torch.manual_seed(0)
    m = cw.load_model(Readers(), input_size=16, output=0, labels=["a", "b", "c"])
    assert folded(m).pairs
    gone = weakref.ref(m.module)
    assert m.module in fold._CACHE
    del m
    gc.collect()
    assert gone() is None
