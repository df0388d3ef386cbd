"""TrainingMonitor: train a model in the background with live loss and accuracy curves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from traitlets import Float, Int

from ..engines.training import History, TrainEvent, train
from ..render.curves import training_curves_png
from .base import BackgroundWidget, bundle, close_tree


class TrainingMonitor(BackgroundWidget):
    """Trains ``model`` on ``train_data`` in a background thread and shows the loss and accuracy
    live (bqplot: each batch, and validation after each epoch), a progress bar, Start and Stop.

    ``TrainingMonitor(model, train_data, val_data=None, epochs=5, lr=3e-3, seed=0, **train_kw)``
    takes what :func:`cnnwidgets.engines.training.train` takes (``batch_size``, ``optimizer``,
    ``schedule``, ``weight_decay``, ``device``). ``start()`` returns at once, ``run()`` blocks
    (scripts, tests, nbval); each start trains ``epochs`` more epochs from the current weights
    with fresh curves. ``history`` is the last run's :class:`History`; ``view`` is a PNG of the
    final curves. Display it as the last expression of a cell (or ``.show()``) to get the
    controls with the charts.
    """

    _esm = bundle("training_monitor")

    epochs = Int(5, help="epochs per run").tag(sync=True)
    lr = Float(3e-3, help="peak learning rate").tag(sync=True)
    epoch = Int(0, help="the epoch running now (from 1)").tag(sync=True)
    step = Int(0, help="batches done in this run").tag(sync=True)
    loss = Float(None, allow_none=True, help="last batch loss").tag(sync=True)
    accuracy = Float(None, allow_none=True, help="last batch accuracy").tag(sync=True)
    val_accuracy = Float(
        None, allow_none=True, help="validation accuracy after the last epoch"
    ).tag(sync=True)

    def __init__(
        self,
        model: Any,
        train_data: Any,
        val_data: Any = None,
        *,
        epochs: int = 5,
        lr: float = 3e-3,
        seed: int = 0,
        **train_kwargs: Any,
    ):
        super().__init__(epochs=epochs, lr=lr)
        self.model, self.train_data, self.val_data = model, train_data, val_data
        self.seed = seed
        self.train_kwargs = train_kwargs
        self.history: History | None = None
        self._events: list[TrainEvent] = []
        self._run_epochs = epochs
        self._box = None
        self.status = "ready: press Start (or call run())"
        self.view = training_curves_png(None)
        self._build_charts()

    # ---- charts (bqplot) ----------------------------------------------------------------------
    def _build_charts(self) -> None:
        import bqplot as bq

        # No legends (they cover the curves): the titles say which colour is which.
        def chart(title: str, y_label: str, y_range=None):
            x, y = bq.LinearScale(), bq.LinearScale(**(y_range or {}))
            batch = bq.Lines(
                x=[],
                y=[],
                scales={"x": x, "y": y},
                colors=["#1976d2"],
                stroke_width=1,
                labels=["train (batch)"],
            )
            val = bq.Lines(
                x=[],
                y=[],
                scales={"x": x, "y": y},
                colors=["#e65100"],
                marker="circle",
                marker_size=24,
                labels=["validation"],
            )
            axes = [
                bq.Axis(scale=x, label="step", grid_lines="dashed", num_ticks=5, tick_format="d"),
                bq.Axis(
                    scale=y,
                    side="left",
                    label=y_label,
                    grid_lines="dashed",
                    num_ticks=5,
                    tick_format=".2g",
                ),
            ]
            fig = bq.Figure(
                marks=[batch, val],
                axes=axes,
                title=title,
                title_style={"font-size": "13px"},
                fig_margin={"top": 40, "bottom": 40, "left": 50, "right": 10},
                layout={"width": "420px", "height": "260px"},
            )
            return fig, batch, val

        self.loss_figure, self._loss_line, self._val_loss_line = chart(
            "loss: batches (blue), validation (orange)", "cross-entropy"
        )
        self.accuracy_figure, self._acc_line, self._val_acc_line = chart(
            "accuracy: batches (blue), validation (orange)", "accuracy", {"min": 0.0, "max": 1.0}
        )

    def _publish(self) -> None:
        # Runs on the worker thread only (see BackgroundWidget.offer): one writer per widget.
        events = list(self._events)
        batches = [e for e in events if e.kind == "batch"]
        epochs = [e for e in events if e.kind == "epoch" and e.val_loss is not None]
        steps = [e.step for e in batches]
        with self._loss_line.hold_sync():
            self._loss_line.x, self._loss_line.y = steps, [e.loss for e in batches]
        with self._acc_line.hold_sync():
            self._acc_line.x, self._acc_line.y = steps, [e.accuracy for e in batches]
        with self._val_loss_line.hold_sync():
            self._val_loss_line.x = [e.step for e in epochs]
            self._val_loss_line.y = [e.val_loss for e in epochs]
        with self._val_acc_line.hold_sync():
            self._val_acc_line.x = [e.step for e in epochs]
            self._val_acc_line.y = [e.val_accuracy for e in epochs]
        if not events:
            return
        last = events[-1]
        self.epoch, self.step = last.epoch, last.step
        self.progress = last.step / last.total_steps if last.total_steps else 0.0
        self.loss, self.accuracy = last.loss, last.accuracy
        if epochs:
            self.val_accuracy = epochs[-1].val_accuracy
        val = f" · val accuracy {self.val_accuracy:.3f}" if self.val_accuracy is not None else ""
        done = " · stopped" if last.stopped else (" · done" if last.kind == "end" else "")
        self.status = (
            f"epoch {last.epoch}/{self._run_epochs} · step {last.step}/{last.total_steps} · "
            f"loss {last.loss:.3f} · accuracy {last.accuracy:.3f}{val} · "
            f"{last.time:.1f} s{done}"
        )

    # ---- the work -------------------------------------------------------------------------------
    def _on_event(self, event: TrainEvent) -> None:
        self._events.append(event)
        self.offer(self._publish)

    def _work(self, stop: threading.Event) -> Iterator[None]:
        self._events = []
        self.val_accuracy = None
        self.status = "starting..."
        # The slider may move while this run trains; the status counts this run's epochs.
        self._run_epochs = self.epochs
        self.history = train(
            self.model,
            self.train_data,
            self.val_data,
            epochs=self._run_epochs,
            lr=self.lr,
            seed=self.seed,
            callbacks=[self._on_event],
            stop=stop,
            progress=False,
            **self.train_kwargs,
        )
        yield self._publish

    def _finished(self, stopped: bool) -> None:
        self.view = training_curves_png(self.history)

    # ---- display ---------------------------------------------------------------------------------
    def show(self):
        """The controls (Start, Stop, progress) above the two live charts."""
        if self._box is None:
            from ipywidgets import HBox, VBox

            self._box = VBox([self, HBox([self.loss_figure, self.accuracy_figure])])
        return self._box

    def _repr_mimebundle_(self, **kwargs: Any):
        # Displayed on its own, the monitor shows as its box, so the charts come with it.
        return self.show()._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop training (after the current batch) and close the charts with their marks,
        axes and scales; safe to call twice."""
        super().close()
        close_tree(
            getattr(self, "_box", None),
            getattr(self, "loss_figure", None),
            getattr(self, "accuracy_figure", None),
        )
