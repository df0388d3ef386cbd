"""Training curves as a static picture: the PNG a saved notebook (and ``save()``) shows for the
TrainingMonitor, whose live chart is bqplot."""

from __future__ import annotations

from typing import Any

from .images import figure_png


def training_curves_png(history: Any | None, dpi: int = 80) -> bytes:
    """Loss and accuracy per step, batch by batch and after each epoch on validation data.

    ``history``: anything with ``batches`` (dicts with step, loss, accuracy) and ``epochs``
    (dicts with step, val_loss, val_accuracy), such as the engine's ``History``; None draws
    the empty axes.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 2.8), dpi=dpi)
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.set_title("loss")
    acc_ax.set_title("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if history is not None and history.batches:
        steps = [b["step"] for b in history.batches]
        loss_ax.plot(steps, [b["loss"] for b in history.batches], lw=1, label="train (batch)")
        acc_ax.plot(steps, [b["accuracy"] for b in history.batches], lw=1, label="train (batch)")
        val = [e for e in history.epochs if e["val_loss"] is not None]
        if val:
            loss_ax.plot(
                [e["step"] for e in val], [e["val_loss"] for e in val], "o-", label="validation"
            )
            acc_ax.plot(
                [e["step"] for e in val], [e["val_accuracy"] for e in val], "o-", label="validation"
            )
        loss_ax.legend(fontsize=8)
        acc_ax.legend(fontsize=8)
        acc_ax.set_ylim(0, 1.02)
    fig.tight_layout()
    return figure_png(fig, dpi=dpi)
