"""Layer discovery, hooks that never leak, capture with early stop, and the state guard."""

import pytest
import torch
from torch import nn

from cnnwidgets.core import (
    LayerNotFoundError,
    capture,
    forward_hooks,
    preserved,
    probe_layers,
    run_until_captured,
)

from .conftest import assert_left_as_found, model_snapshot


def _net():
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("conv", nn.Conv2d(3, 4, 3, padding=1))
    net.add_module("bn", nn.BatchNorm2d(4))
    net.add_module("relu", nn.ReLU(inplace=True))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flatten", nn.Flatten())
    net.add_module("drop", nn.Dropout())
    net.add_module("fc", nn.Linear(4, 2))
    return net


def test_probe_records_shapes_in_module_order_and_skips_reshapers():
    infos = probe_layers(_net(), torch.zeros(1, 3, 8, 8))
    assert [i.name for i in infos] == ["conv", "bn", "relu", "pool", "fc"]
    assert infos[0].shape == (4, 8, 8) and infos[0].spatial
    assert not infos[3].spatial  # a 1 x 1 map is not spatial
    assert infos[-1].shape == (2,)


def test_capture_clones_so_inplace_ops_cannot_change_stored_maps():
    net = _net().eval()
    x = torch.randn(2, 3, 8, 8)
    with capture({"bn": net.bn}) as store:
        net(x)
    expected = net.bn(net.conv(x))  # pre-ReLU values, including negatives
    assert (store["bn"] < 0).any()
    assert torch.allclose(store["bn"], expected)


def test_capture_can_stop_the_forward_after_the_last_needed_layer():
    net = _net().eval()
    calls = []
    with forward_hooks({net.fc: lambda *a: calls.append("fc")}):
        with capture({"conv": net.conv}, stop_after_last=True) as store:
            assert run_until_captured(lambda: net(torch.zeros(1, 3, 8, 8))) is None
    assert "conv" in store and calls == []


def test_hooks_are_removed_when_the_block_raises():
    net = _net()
    with pytest.raises(RuntimeError, match="boom"):
        with capture({"conv": net.conv, "fc": net.fc}):
            raise RuntimeError("boom")
    assert all(not m._forward_hooks for m in net.modules())


def test_guard_restores_modes_flags_and_grads_after_an_exception():
    net = _net().train()
    net.bn.eval()
    net.conv.weight.requires_grad_(False)
    net.fc.weight.grad = torch.ones_like(net.fc.weight)
    before = model_snapshot(net)
    with pytest.raises(ValueError):
        with preserved(net):
            assert not net.training and not any(p.requires_grad for p in net.parameters())
            net.fc.weight.grad = None
            net.conv.bias.grad = torch.zeros_like(net.conv.bias)
            raise ValueError("mid-call failure")
    assert_left_as_found(before, net)
    assert net.training and not net.bn.training


def test_layer_error_lists_closest_names_first():
    err = LayerNotFoundError("layer4.1.con1", ["conv1", "layer4.1.conv1", "layer4.1.conv2", "fc"])
    assert str(err).index("layer4.1.conv1") < str(err).index("fc")
    assert err.valid == ["conv1", "layer4.1.conv1", "layer4.1.conv2", "fc"]


def test_engine_calls_on_one_model_from_two_threads_do_not_see_each_others_hooks():
    # A feature-map call stops its forward pass early from a hook; a concurrent full forward on
    # the same model must not be stopped by it (the Explorer recomputes its parts in threads).
    import threading

    import cnnwidgets as cw

    m = cw.load_model(_net(), input_size=8, device="cpu")
    x = torch.randn(1, 3, 8, 8)
    errors, barrier = [], threading.Barrier(2)

    def maps():
        barrier.wait()
        for _ in range(200):
            cw.feature_maps(m, x, "conv")

    def predictions():
        barrier.wait()
        for _ in range(200):
            try:
                m.predict(x, k=1)
            except Exception as exc:  # StopForward leaking in from the other thread
                errors.append(exc)

    threads = [threading.Thread(target=maps), threading.Thread(target=predictions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(not mod._forward_hooks for mod in m.module.modules())
