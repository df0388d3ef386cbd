"""Train a classifier with callbacks: the one engine that changes weights.

``train`` runs a plain supervised loop (cross-entropy, Adam or SGD, optional one-cycle schedule)
and reports every batch and every epoch to callbacks as :class:`TrainEvent`s: loss, accuracy,
learning rate and seconds since the start. It is reproducible: ``torch.manual_seed(seed)`` fixes
dropout and the data order, and data sets passed in (rather than DataLoaders) are batched with a
generator seeded from ``seed``. A ``threading.Event`` stops it between batches. The model trains
in train mode by design and every submodule's ``training`` flag is restored afterwards.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..core.guard import model_lock


@dataclass(frozen=True)
class TrainEvent:
    """What a callback receives. ``kind`` is "batch", "epoch" or "end".

    Batch events carry that batch's ``loss`` and ``accuracy``; epoch events the epoch's means
    and, when there is validation data, ``val_loss`` / ``val_accuracy``. ``epoch`` counts from 1,
    ``step`` is the number of batches done so far (of ``total_steps``), ``time`` is seconds
    since training started.
    """

    kind: str
    epoch: int
    step: int
    total_steps: int
    loss: float
    accuracy: float
    lr: float
    time: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    stopped: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    """Everything ``train`` measured: one row per batch, one per epoch."""

    batches: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    stopped: bool = False
    device: str = "cpu"
    seconds: float = 0.0

    @property
    def val_accuracy(self) -> float | None:
        """Validation accuracy after the last completed epoch (None without validation data)."""
        return self.epochs[-1]["val_accuracy"] if self.epochs else None

    def __repr__(self) -> str:
        last = self.epochs[-1] if self.epochs else {}
        parts = [
            f"{len(self.epochs)} epochs",
            f"{len(self.batches)} batches",
            f"{self.seconds:.1f} s on {self.device}",
        ]
        if last.get("val_accuracy") is not None:
            parts.append(f"val accuracy {last['val_accuracy']:.3f}")
        return f"<History {', '.join(parts)}{' (stopped)' if self.stopped else ''}>"


Callback = Callable[[TrainEvent], Any]


class TrainingError(RuntimeError):
    """Training cannot go on (for example, the loss became NaN)."""


def _module_of(model) -> nn.Module:
    module = getattr(model, "module", model)
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"expected a cnnwidgets Model or a torch.nn.Module, got {type(model).__name__}"
        )
    return module


def _logits(model, x: torch.Tensor) -> torch.Tensor:
    # A cnnwidgets Model picks the logits out of tuple/dict outputs; a bare module returns them.
    return model.logits(x) if hasattr(model, "logits") and hasattr(model, "module") else model(x)


def _pick_device(module: nn.Module, device) -> torch.device:
    if device is not None and device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    for t in module.parameters():
        return t.device
    return torch.device("cpu")


def _loader(data, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset) or hasattr(data, "__getitem__"):
        if hasattr(data, "__len__") and len(data) == 0:
            raise ValueError("the data set is empty")
        gen = torch.Generator().manual_seed(seed)
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=gen)
    raise TypeError(f"expected a Dataset or a DataLoader, got {type(data).__name__}")


def _batch(batch, device) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError("each batch must be an (images, labels) pair")
    return batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)


def evaluate(model, data, *, batch_size: int = 256, device=None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of a model on a data set, in eval mode, without gradients."""
    module = _module_of(model)
    dev = (
        _pick_device(module, device)
        if device is not None
        else next((p.device for p in module.parameters()), torch.device("cpu"))
    )
    loader = _loader(data, batch_size, shuffle=False, seed=0)
    total_loss, correct, count = 0.0, 0, 0
    with model_lock(module):
        modes = [(m, m.training) for m in module.modules()]
        try:
            module.eval()
            with torch.inference_mode():
                for batch in loader:
                    x, y = _batch(batch, dev)
                    out = _logits(model, x)
                    total_loss += float(F.cross_entropy(out, y, reduction="sum"))
                    correct += int((out.argmax(-1) == y).sum())
                    count += len(y)
        finally:
            for m, mode in modes:
                m.training = mode
    if count == 0:
        raise ValueError("the evaluation data set is empty")
    return total_loss / count, correct / count


def _optimizer(name, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if isinstance(name, torch.optim.Optimizer):
        return name
    if name == "adam":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; use 'adam', 'sgd' or a torch optimizer")


def train(
    model,
    train_data,
    val_data=None,
    *,
    epochs: int = 5,
    lr: float = 3e-3,
    optimizer: str | torch.optim.Optimizer = "adam",
    weight_decay: float = 0.0,
    schedule: str | None = "onecycle",
    batch_size: int = 64,
    seed: int = 0,
    device=None,
    callbacks: Iterable[Callback] = (),
    stop: threading.Event | None = None,
    progress: bool | None = None,
    threads: int | None = None,
) -> History:
    """Train ``model`` (a cnnwidgets Model or an nn.Module) and return its :class:`History`.

    ``train_data`` / ``val_data``: Datasets or DataLoaders of (image, label) pairs, inputs
    already preprocessed. ``schedule``: "onecycle" (warm up, then anneal to ~0; trains small
    nets fast), "cosine" or None (constant). ``device``: None uses CUDA when there, otherwise
    where the model is; the model is moved there and stays. ``callbacks`` get a
    :class:`TrainEvent` after every batch, every epoch and at the end. ``stop``: set it from
    another thread to end training after the current batch. ``progress``: a tqdm bar (default:
    when stderr is a terminal). ``threads``: CPU threads for this run (restored after); None
    keeps PyTorch's setting. On a busy machine, 1 thread can be many times faster for a small
    network: with more threads than free cores, every operation waits for a descheduled thread.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if threads is not None and (
        isinstance(threads, bool) or int(threads) != threads or threads < 1
    ):
        raise ValueError(f"threads must be a positive whole number or None, got {threads!r}")
    if lr <= 0:
        raise ValueError(f"the learning rate must be positive, got {lr}")
    module = _module_of(model)
    dev = _pick_device(module, device)
    torch.manual_seed(seed)
    loader = _loader(train_data, batch_size, shuffle=True, seed=seed)
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError("the training data set is empty")
    total_steps = epochs * steps_per_epoch
    lock = model_lock(module)
    # Under the model's lock: an engine call on another thread freezes every parameter for
    # its duration (core.guard.preserved), so flags read outside the lock could say "nothing
    # to train", and a move to another device must not happen in the middle of its forward.
    with lock:
        module.to(dev)
        params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameters that require gradients")
    opt = _optimizer(optimizer, params, lr, weight_decay)
    if schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps)
    elif schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    elif schedule is None:
        sched = None
    else:
        raise ValueError(f"unknown schedule {schedule!r}; use 'onecycle', 'cosine' or None")
    callbacks = list(callbacks)
    if progress is None:
        progress = sys.stderr.isatty()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, unit="batch")

    history = History(device=str(dev))
    # The model's lock is held per batch, not for the whole run, so that a viewer on the same
    # model (feature maps while it trains) gets its turn between batches and never sees a
    # half-done step; other engines restore the train mode they find.
    with lock:
        modes = [(m, m.training) for m in module.modules()]
        module.train()
    saved_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    start = time.perf_counter()
    step = 0

    def emit(event: TrainEvent) -> None:
        for cb in callbacks:
            cb(event)

    try:
        for epoch in range(1, epochs + 1):
            loss_sum, correct, count = 0.0, 0, 0
            for batch in loader:
                if stop is not None and stop.is_set():
                    history.stopped = True
                    break
                x, y = _batch(batch, dev)
                with lock:
                    opt.zero_grad(set_to_none=True)
                    out = _logits(model, x)
                    loss = F.cross_entropy(out, y)
                    loss_value = loss.item()
                    if not math.isfinite(loss_value):
                        raise TrainingError(
                            f"the loss became {loss_value} at step {step + 1}; "
                            "try a lower learning rate"
                        )
                    loss.backward()
                    opt.step()
                lr_now = opt.param_groups[0]["lr"]
                if sched is not None:
                    sched.step()
                step += 1
                n, hits = len(y), int((out.detach().argmax(-1) == y).sum())
                loss_sum, correct, count = loss_sum + loss_value * n, correct + hits, count + n
                row = dict(
                    epoch=epoch,
                    step=step,
                    loss=loss_value,
                    accuracy=hits / n,
                    lr=lr_now,
                    time=time.perf_counter() - start,
                )
                history.batches.append(row)
                emit(TrainEvent(kind="batch", total_steps=total_steps, **row))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{loss_value:.3f}")
            if history.stopped:
                break
            val_loss = val_acc = None
            if val_data is not None:
                val_loss, val_acc = evaluate(model, val_data, device=dev)
            row = dict(
                epoch=epoch,
                step=step,
                loss=loss_sum / count,
                accuracy=correct / count,
                lr=opt.param_groups[0]["lr"],
                time=time.perf_counter() - start,
                val_loss=val_loss,
                val_accuracy=val_acc,
            )
            history.epochs.append(row)
            emit(TrainEvent(kind="epoch", total_steps=total_steps, **row))
    finally:
        torch.set_num_threads(saved_threads)
        with lock:
            for m, mode in modes:
                m.training = mode
            for p in module.parameters():
                p.grad = None
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    # The end event says where training got to. Stopped inside an epoch, that is the epoch in
    # progress and its last batch: the last completed epoch would read as a step back ("epoch
    # 6", then "epoch 5 · stopped"). Validation is that of the last completed epoch.
    done = history.epochs[-1] if history.epochs else {}
    batch = history.batches[-1] if history.batches else {}
    last = batch if batch.get("epoch", 0) > done.get("epoch", 0) else done
    emit(
        TrainEvent(
            kind="end",
            epoch=last.get("epoch", 0),
            step=step,
            total_steps=total_steps,
            loss=last.get("loss", float("nan")),
            accuracy=last.get("accuracy", float("nan")),
            lr=opt.param_groups[0]["lr"],
            time=history.seconds,
            val_loss=done.get("val_loss"),
            val_accuracy=done.get("val_accuracy"),
            stopped=history.stopped,
        )
    )
    return history
