"""Lucid's redirected ReLU: the gradient rule by hand on small tensors, every way torch spells a
ReLU, plain gradients outside the block, and InceptionV1's input gradients against lucent's
module carrying a line-by-line port of lucid's TensorFlow gradient."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnwidgets as cw
from cnnwidgets.core import capture, run_until_captured
from cnnwidgets.engines.featureviz.redirect import redirected_relus
from cnnwidgets.models.inceptionv1 import InceptionV1

SPELLINGS = {
    "F.relu": F.relu,
    "torch.relu": torch.relu,
    "Tensor.relu": lambda t: t.relu(),
    "nn.ReLU": nn.ReLU(),
    "nn.ReLU(inplace)": nn.ReLU(inplace=True),
    "F.relu(inplace)": lambda t: F.relu(t, inplace=True),
    "F.relu_": F.relu_,
    "torch.relu_": torch.relu_,
    "Tensor.relu_": lambda t: t.relu_(),
}


def hand_rule(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Lucid's rule written out element by element, image by image (dim 0)."""
    out = torch.zeros_like(g)
    for i in range(x.shape[0]):
        xs, gs = x[i].flatten().tolist(), g[i].flatten().tolist()
        relu = [gv if xv >= 0 else 0.0 for xv, gv in zip(xs, gs)]
        if any(v != 0 for v in relu):
            row = relu
        else:  # blocked: pass through, but never push a negative input lower (grad > 0)
            row = [0.0 if (xv < 0 and gv > 0) else gv for xv, gv in zip(xs, gs)]
        out[i] = torch.tensor(row).view_as(g[i])
    return out


def cases() -> tuple[torch.Tensor, torch.Tensor]:
    """Four images (2 x 3 x 3 each): 0 ordinary; 1 every input negative (blocked); 2 some
    inputs positive but the gradient arrives only where they are negative (blocked too);
    3 every input positive."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, 3, 3, generator=gen)
    g = torch.randn(4, 2, 3, 3, generator=gen)
    x[1] = -x[1].abs() - 0.1
    g[2] = torch.where(x[2] < 0, g[2], torch.zeros(()))
    x[3] = x[3].abs() + 0.1
    return x, g


def grad_through(relu, x: torch.Tensor, g: torch.Tensor, redirect: bool):
    leaf = x.clone().requires_grad_()
    with redirected_relus() if redirect else contextlib.nullcontext():
        y = relu(leaf * 1)  # through a product: in-place ReLUs need a non-leaf input
    y.backward(g)
    return y.detach(), leaf.grad


def test_the_cases_hit_both_branches_of_the_rule():
    x, g = cases()
    plain = g * (x > 0)
    assert (plain[1] == 0).all() and (plain[2] == 0).all()  # blocked images
    assert not torch.equal(hand_rule(x, g)[1:3], plain[1:3])  # where redirect differs
    assert torch.equal(hand_rule(x, g)[[0, 3]], plain[[0, 3]])  # where it does not


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_redirected_gradient_matches_the_hand_computation(spelling):
    x, g = cases()
    y, grad = grad_through(SPELLINGS[spelling], x, g, redirect=True)
    assert torch.equal(y, x.clamp(min=0))
    assert torch.equal(grad, hand_rule(x, g))


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_outside_the_block_the_gradient_is_plain_relus(spelling):
    x, g = cases()
    with redirected_relus():
        pass  # entering and leaving leaves nothing behind
    y, grad = grad_through(SPELLINGS[spelling], x, g, redirect=False)
    assert torch.equal(y, x.clamp(min=0))
    assert torch.equal(grad, g * (x > 0))


def test_a_tensor_relued_in_place_passes_the_redirected_gradient_to_later_reads():
    x, g = cases()
    leaf = x.clone().requires_grad_()
    with redirected_relus():
        h = leaf * 1
        F.relu_(h)
        (h * g).sum().backward()  # reads h itself, not the ReLU's return value
    assert torch.equal(leaf.grad, hand_rule(x, g))


def test_a_tensor_without_batch_dimension_is_one_image():
    x = torch.tensor([-1.0, -2.0, 3.0])
    g = torch.tensor([2.0, -1.0, 0.0])  # reaches only the negative inputs: blocked
    _, grad = grad_through(torch.relu, x, g, redirect=True)
    assert grad.tolist() == [0.0, -1.0, 0.0]


def test_without_a_recorded_gradient_relus_are_torchs_own():
    x, _ = cases()
    with redirected_relus(), torch.inference_mode():
        y = F.relu(x)
    assert torch.equal(y, x.clamp(min=0))
    with redirected_relus(), torch.no_grad():
        y = torch.relu(x.clone().requires_grad_())
    assert y.grad_fn is None


# ---- InceptionV1 against lucent's module with lucid's gradient -------------------------------
class _LucidRedirectedRelu(torch.autograd.Function):
    """lucid/misc/redirected_relu_grad.py, line for line (tf.where -> torch.where), without the
    switch back to the plain gradient after step 16."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.threshold(x, 0.0, 0.0)  # not a relu: the mode must not touch the reference

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        zeros = torch.zeros_like(grad)
        relu_grad = torch.where(x < 0.0, zeros, grad)
        neg_pushing_lower = torch.logical_and(x < 0.0, grad > 0.0)
        redirected_grad = torch.where(neg_pushing_lower, zeros, grad)
        batch = relu_grad.shape[0]
        relu_grad_mag = torch.linalg.vector_norm(relu_grad.reshape(batch, -1), dim=1)
        keep = (relu_grad_mag > 0.0).view(batch, *([1] * (grad.ndim - 1)))
        return torch.where(keep, relu_grad, redirected_grad)


class _LucidRedirectedReluLayer(nn.Module):
    def forward(self, x):
        return _LucidRedirectedRelu.apply(x)


@pytest.fixture(scope="module")
def pair():
    """Lucent's InceptionV1 with lucid's gradient in each of its 57 ReLU modules, and ours
    with the same random weights."""
    lucent_zoo = pytest.importorskip("lucent.modelzoo")
    from lucent.modelzoo.inceptionv1 import helper_layers

    torch.manual_seed(0)
    reference = lucent_zoo.inceptionv1(pretrained=False, redirected_ReLU=False).eval()
    relus = [n for n, mod in reference.named_children() if isinstance(mod, helper_layers.ReluLayer)]
    assert len(relus) == 57
    for name in relus:
        setattr(reference, name, _LucidRedirectedReluLayer())
    ours = InceptionV1().eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


class _Stop(Exception):
    pass


def _lucent_input_grad(net, x, objective):
    acts = {}

    def keep_and_stop(_m, _i, out):
        acts["mixed4a"] = out
        raise _Stop  # the objective needs nothing after mixed4a

    handle = net.mixed4a.register_forward_hook(keep_and_stop)
    x = x.clone().requires_grad_()
    try:
        net(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(-objective(acts["mixed4a"]), x)
    return grad


def _our_input_grad(net, x, objective, redirect=True):
    x = x.clone().requires_grad_()
    with (
        redirected_relus() if redirect else contextlib.nullcontext(),
        capture({"mixed4a": net.mixed4a}, stop_after_last=True, transform=lambda t: t) as acts,
    ):
        run_until_captured(lambda: net(x))
        (grad,) = torch.autograd.grad(-objective(acts["mixed4a"]), x)
    return grad


def _channels(*cs):
    return lambda a: a[:, list(cs)].mean()


# mixed4a's channels: 1x1 tower 0-191, 3x3 tower 192-395, 5x5 tower 396-443, pool 444-507.
SCENARIOS = {
    # every ReLU passes some gradient: the rule is the plain gradient
    "ordinary": ({}, _channels(476)),
    # 1x1 channel 5 is off everywhere: its tower's ReLU is blocked for both images
    "blocked unit": ({"mixed4a_1x1_pre_relu_conv.bias": [(5, -1e4)]}, _channels(5, 476)),
    # the whole 3x3 bottleneck is off: a ReLU upstream of the objective is blocked, and the
    # 3x3 tower (its bias positive here) passes gradient back into it
    "blocked bottleneck": (
        {
            "mixed4a_3x3_bottleneck_pre_relu_conv.bias": [(slice(None), -1e4)],
            "mixed4a_3x3_pre_relu_conv.bias": [(7, 1.0)],
        },
        _channels(192 + 7),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_inceptionv1_input_gradient_matches_lucent_with_lucids_rule(pair, scenario):
    reference, ours = pair
    edits, objective = SCENARIOS[scenario]
    saved = {k: v.clone() for k, v in ours.state_dict().items()}
    try:
        with torch.no_grad():
            for key, changes in edits.items():
                for index, value in changes:
                    for net in (reference, ours):
                        net.state_dict()[key][index] = value
        # 112 px (the pads of lucent's hard-coded "SAME" hold for any multiple of 16)
        x = torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(4)) * 255 - 117
        expected = _lucent_input_grad(reference, x, objective)
        got = _our_input_grad(ours, x, objective)
        plain = _our_input_grad(ours, x, objective, redirect=False)
    finally:
        reference.load_state_dict(saved)
        ours.load_state_dict(saved)
    assert float(expected.abs().max()) > 0
    assert float((got - expected).abs().max()) <= 1e-5 * float(expected.abs().max())
    if scenario == "ordinary":
        assert torch.equal(got, plain)
    else:
        assert float((plain - expected).abs().max()) > 0.01 * float(expected.abs().max())


def _blocked_model():
    """A unit that is off for every input: conv2's bias pushes it far below zero."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 2, 3, padding=1),
        torch.nn.ReLU(),
    )
    with torch.no_grad():
        net[2].bias.fill_(-100.0)
    return cw.load_model(net, input_size=12, device="cpu")


def test_the_loop_redirects_during_its_first_steps_only():
    m = _blocked_model()
    start = cw.visualize(m, "3:1", steps=0, size=12, seed=0, transforms=None).images
    plain = cw.visualize(m, "3:1", steps=1, size=12, seed=0, transforms=None).images
    np.testing.assert_array_equal(plain, start)  # no gradient reaches the image
    redirected = cw.visualize(
        m, "3:1", steps=1, size=12, seed=0, transforms=None, redirect_relu=True
    ).images
    assert np.abs(redirected - start).max() > 1e-4
    # The model's own default turns it on (InceptionV1 sets it).
    m.redirect_relu = True
    default = cw.visualize(m, "3:1", steps=1, size=12, seed=0, transforms=None).images
    np.testing.assert_array_equal(default, redirected)
    # After redirect_steps the plain gradient is back: with the unit still off, nothing moves
    # (plain SGD, so that no momentum carries step 1's move into the later steps).
    run = cw.visualize(
        m,
        "3:1",
        steps=3,
        size=12,
        seed=0,
        transforms=None,
        redirect_steps=1,
        optimizer=lambda ps: torch.optim.SGD(ps, lr=0.5),
        stream=True,
    )
    frames = [np.asarray(f.images) for f in run]  # each before its step's update
    assert np.abs(frames[1] - frames[0]).max() > 1e-4  # step 1 (redirected) moved it
    np.testing.assert_array_equal(frames[2], frames[1])  # step 2 (plain) did not
    np.testing.assert_array_equal(run.frame(), frames[1])  # nor step 3


def test_inceptionv1_asks_for_redirected_relus():
    m = cw.load_model("inceptionv1", pretrained=False, device="cpu")
    assert m.redirect_relu is True
    assert cw.load_model("simple_cnn").redirect_relu is False
