"""The training engine and the digits data set."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Subset, TensorDataset

import cnnwidgets as cw
from cnnwidgets.data.digits import DIGITS_LABELS, digits_datasets, digits_images, digits_loaders
from cnnwidgets.engines.training import TrainEvent, TrainingError, evaluate, train


def digits_model(size=16, seed=0):
    torch.manual_seed(seed)
    return cw.load_model(
        "simple_cnn",
        num_classes=10,
        in_channels=1,
        input_size=size,
        labels=DIGITS_LABELS,
        device="cpu",
    )


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.3),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 10),
    )


@pytest.fixture(scope="module")
def digits():
    return digits_datasets(size=16)


def test_digits_data_set_is_the_sklearn_digits(digits):
    from sklearn.datasets import load_digits

    train_set, val_set = digits
    assert len(train_set) + len(val_set) == 1797
    assert abs(len(val_set) - 0.2 * 1797) <= 1
    x, y = train_set[0]
    assert x.shape == (1, 16, 16) and x.dtype == torch.float32
    # Normalised with mean 0.5, std 0.5 from [0, 1]: background pixels sit at -1.
    assert x.min() == pytest.approx(-1) and x.max() <= 1 + 1e-6
    # Every label is a real digit label and all ten classes are in both splits.
    assert set(val_set.tensors[1].tolist()) == set(range(10))
    raw, labels = digits_images()
    assert np.array_equal(labels, load_digits().target)
    assert raw.shape == (1797, 8, 8) and raw.max() == 1.0
    # At size 8 the data set is the raw images, normalised, in the split's order.
    tr8, va8 = digits_datasets(size=8)
    total = torch.cat([tr8.tensors[0], va8.tensors[0]]).flatten(1).sum(1).sort().values
    expected = torch.from_numpy(raw * 2 - 1).flatten(1).sum(1).sort().values
    assert torch.allclose(total, expected)


def test_split_is_disjoint_and_fixed_by_the_seed():
    a_tr, a_va = digits_datasets(size=8, seed=1)
    b_tr, b_va = digits_datasets(size=8, seed=1)
    c_tr, _ = digits_datasets(size=8, seed=2)
    assert torch.equal(a_tr.tensors[0], b_tr.tensors[0]) and torch.equal(
        a_va.tensors[1], b_va.tensors[1]
    )
    assert not torch.equal(a_tr.tensors[0], c_tr.tensors[0])
    rows_tr = {tuple(r) for r in a_tr.tensors[0].flatten(1).tolist()}
    # Duplicated scans exist in the digits; count distinct images only on the val side.
    overlap = [r for r in a_va.tensors[0].flatten(1).tolist() if tuple(r) in rows_tr]
    assert len(overlap) < 5
    with pytest.raises(ValueError, match="size must be at least 8"):
        digits_datasets(size=4)
    with pytest.raises(ValueError, match="val_fraction"):
        digits_datasets(val_fraction=1.5)


def test_simple_cnn_learns_the_digits_above_90_percent(digits):
    model = digits_model()
    before = [m.training for m in model.module.modules()]
    events = []
    train_set, val_set = digits
    # One thread: the test machines are shared, and more threads than free cores is far slower.
    history = train(
        model,
        train_set,
        val_set,
        epochs=3,
        seed=0,
        device="cpu",
        threads=1,
        callbacks=[events.append],
        progress=False,
    )
    assert history.val_accuracy > 0.90, history
    # The reported accuracy is the real one: evaluate it independently of the engine.
    model.module.eval()
    with torch.no_grad():
        x, y = val_set.tensors
        acc = (model.module(x).argmax(-1) == y).float().mean().item()
    assert acc == pytest.approx(history.val_accuracy)
    assert [m.training for m in model.module.modules()] == before
    assert all(p.grad is None for p in model.module.parameters())
    n_batches = 3 * -(-len(train_set) // 64)
    kinds = [e.kind for e in events]
    assert kinds.count("batch") == len(history.batches) == n_batches
    assert kinds.count("epoch") == 3 and kinds[-1] == "end" and kinds.count("end") == 1
    assert [e.step for e in events if e.kind == "batch"] == list(range(1, n_batches + 1))
    assert all(e.total_steps == n_batches for e in events)
    times = [e.time for e in events]
    assert times == sorted(times)
    lrs = [e.lr for e in events if e.kind == "batch"]
    assert max(lrs) == pytest.approx(3e-3, rel=0.05) and lrs[0] < lrs[n_batches // 3] > lrs[-1]
    assert history.epochs[-1]["loss"] < history.epochs[0]["loss"]
    assert events[-1].val_accuracy == history.val_accuracy and not events[-1].stopped


def small_digits(n=96):
    train_set, val_set = digits_datasets(size=8)
    return Subset(train_set, range(n)), Subset(val_set, range(64))


def test_same_seed_same_run_other_seed_other_run():
    tr, va = small_digits()
    runs = []
    for seed in (3, 3, 4):
        model = tiny_model()
        h = train(model, tr, va, epochs=2, batch_size=16, seed=seed, device="cpu", progress=False)
        runs.append(([b["loss"] for b in h.batches], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(v, runs[1][1][k]) for k, v in runs[0][1].items())
    assert runs[0][0] != runs[2][0]


def test_stop_event_ends_after_the_current_batch():
    tr, _ = small_digits()
    stop = threading.Event()
    events = []

    def on_event(e: TrainEvent):
        events.append(e)
        if e.kind == "batch" and e.step == 3:
            stop.set()

    model = tiny_model()
    model.eval()
    h = train(
        model,
        tr,
        epochs=5,
        batch_size=16,
        device="cpu",
        callbacks=[on_event],
        stop=stop,
        progress=False,
    )
    assert h.stopped and len(h.batches) == 3 and h.epochs == []
    assert events[-1].kind == "end" and events[-1].stopped
    assert not any(m.training for m in model.modules())


def test_threads_setting_is_used_and_restored():
    tr, _ = small_digits(32)
    before = torch.get_num_threads()
    seen = []
    train(
        tiny_model(),
        tr,
        epochs=1,
        batch_size=16,
        device="cpu",
        threads=1,
        progress=False,
        callbacks=[lambda e: seen.append(torch.get_num_threads()) if e.kind == "batch" else None],
    )
    assert set(seen) == {1} and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        train(tiny_model(), tr, threads=0)


def test_training_flags_restored_per_submodule():
    model = tiny_model()
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a training model stays frozen
    tr, _ = small_digits(32)
    train(model, tr, epochs=1, batch_size=16, device="cpu", progress=False)
    assert model.training and not model[1].training


def test_evaluate_matches_a_direct_computation():
    _, va = small_digits()
    model = tiny_model()
    model.train()
    loss, acc = evaluate(model, va)
    x = torch.stack([va[i][0] for i in range(len(va))])
    y = torch.tensor([int(va[i][1]) for i in range(len(va))])
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert loss == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
    assert acc == pytest.approx((out.argmax(-1) == y).float().mean().item())
    model.train()
    assert model.training  # evaluate restored the flag it found


def test_loaders_order_is_reproducible():
    a, _ = digits_loaders(batch_size=32, size=8, seed=5)
    b, _ = digits_loaders(batch_size=32, size=8, seed=5)
    assert torch.equal(next(iter(a))[1], next(iter(b))[1])


def test_bad_input_gives_clear_errors():
    tr, _ = small_digits(32)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        train(tiny_model(), tr, epochs=0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        train(tiny_model(), tr, optimizer="rmsprop", device="cpu")
    with pytest.raises(ValueError, match="empty"):
        train(
            tiny_model(),
            TensorDataset(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long)),
            device="cpu",
        )
    with pytest.raises(TypeError, match="Model or a torch.nn.Module"):
        train("resnet", tr)
    bad = TensorDataset(torch.full((8, 1, 8, 8), float("nan")), torch.zeros(8, dtype=torch.long))
    model = tiny_model()
    with pytest.raises(TrainingError, match="loss became nan"):
        train(model, bad, device="cpu", progress=False)
    assert all(p.grad is None for p in model.parameters())
