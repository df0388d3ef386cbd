"""Shared fixtures: models are loaded once per session, images are the bundled photos."""

from __future__ import annotations

import threading

import pytest
import torch

import cnnwidgets as cw


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session, shared by the end-to-end tests and the tests of
    static HTML exports: Playwright's sync API refuses a second instance while one is open."""
    from tests.e2e import harness

    with harness.chromium() as b:
        yield b


@pytest.fixture(scope="session")
def lite0():
    """The embedded ImageNet-pretrained EfficientNet-Lite0 (on the CPU, deterministic)."""
    return cw.load_model("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def cat():
    return cw.load_image("cat")


@pytest.fixture(scope="session")
def coffee():
    return cw.load_image("coffee")


@pytest.fixture()
def tiny_cnn():
    """A small random CNN (fixed seed) wrapped as a Model: fast enough for finite differences."""
    torch.manual_seed(0)
    module = torch.nn.Sequential()
    module.add_module("conv1", torch.nn.Conv2d(3, 4, 3, padding=1))
    module.add_module("relu1", torch.nn.ReLU())
    module.add_module("conv2", torch.nn.Conv2d(4, 6, 3, padding=1))
    module.add_module("relu2", torch.nn.ReLU())
    module.add_module("pool", torch.nn.AdaptiveAvgPool2d(1))
    module.add_module("flatten", torch.nn.Flatten())
    module.add_module("fc", torch.nn.Linear(6, 5))
    return cw.load_model(module, labels=[f"c{i}" for i in range(5)], input_size=16, device="cpu")


@pytest.fixture()
def lived_in_tiny_cnn(tiny_cnn):
    """``tiny_cnn`` as a user leaves it mid-training (train mode, a stale ``.grad``, frozen
    parameters), with a snapshot of that state for :func:`assert_left_as_found`."""
    tiny_cnn.module.train()
    tiny_cnn.module.fc.weight.grad = torch.ones_like(tiny_cnn.module.fc.weight)
    tiny_cnn.module.conv1.bias.requires_grad_(False)
    tiny_cnn.module.conv2.weight.requires_grad_(False)
    return tiny_cnn, model_snapshot(tiny_cnn)


def model_snapshot(model):
    """Everything an engine must leave as it found: modes, flags, grads, weights, buffers, hooks."""
    module = model.module if hasattr(model, "module") else model
    return {
        "training": [m.training for m in module.modules()],
        "requires_grad": [p.requires_grad for p in module.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in module.parameters()],
        "state": {k: v.detach().clone() for k, v in module.state_dict().items()},
        "hooks": sum(
            len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in module.modules()
        ),
    }


def assert_left_as_found(before, model):
    after = model_snapshot(model)
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["hooks"] == before["hooks"] == 0
    for g0, g1 in zip(before["grads"], after["grads"]):
        assert (g0 is None and g1 is None) or torch.equal(g0, g1)
    for k, v in before["state"].items():
        assert torch.equal(v, after["state"][k]), f"{k} changed"


@pytest.fixture()
def no_thread_leak():
    """Fails a test that leaves threads running behind it."""
    before = set(threading.enumerate())
    yield
    import time

    deadline = time.time() + 5
    while time.time() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.05)
    raise AssertionError(f"threads left running: {extra}")
