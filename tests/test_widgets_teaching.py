"""The Segment-1 teaching widgets: ConvolutionExplorer and TrainingMonitor."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, Subset, TensorDataset

import cnnwidgets as cw
from cnnwidgets.data.digits import digits_datasets
from cnnwidgets.engines import convolution as conv
from cnnwidgets.widgets.base import WidgetError


def reference(grid, kernel, stride, padding, dilation):
    x = torch.as_tensor(np.asarray(grid, dtype=np.float64))[None, None]
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    return F.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)[0, 0].numpy()


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG")
    w, h = Image.open(io.BytesIO(data)).size
    return h, w


@pytest.fixture()
def explorer(no_thread_leak):
    w = cw.ConvolutionExplorer()
    yield w
    w.close()


# ---- ConvolutionExplorer -------------------------------------------------------------------------


def test_explorer_starts_with_the_numbers_and_the_edge_kernel(explorer):
    w = explorer
    assert w.error == "" and w.source == "numbers" and w.kernel_name == "edge"
    assert w.shapes == {"input": [7, 7], "kernel": [3, 3], "padded": [7, 7], "output": [5, 5]}
    assert w.kernel == conv.KERNELS["edge"].tolist()
    expected = reference(w.grid, w.kernel, 1, 0, 1)
    np.testing.assert_allclose(w.output, expected)
    assert w.cell["total"] == pytest.approx(expected[0, 0])
    assert w.equation.endswith(f"= {conv._fmt(expected[0, 0], 2)}")
    assert "floor(4 / 1) + 1 = 5" in w.formula and r"\left\lfloor" in w.formula_latex
    # Input and output are drawn at the same scale, so the output is visibly smaller.
    ih, iw = png_size(w.input_view)
    oh, ow = png_size(w.view)
    assert ih % 7 == 0 and (oh, ow) == (ih // 7 * 5, iw // 7 * 5)


@pytest.mark.parametrize(
    "stride,padding,dilation", [(1, 1, 1), (2, 0, 1), (2, 2, 2), (3, 1, 2), (1, 0, 3)]
)
def test_every_cell_of_the_explorer_matches_conv2d(explorer, stride, padding, dilation):
    w = explorer
    w.kernel_name = "sobel_x"
    w.stride, w.padding, w.dilation = stride, padding, dilation
    assert w.error == ""
    expected = reference(w.grid, conv.KERNELS["sobel_x"], stride, padding, dilation)
    assert w.shapes["output"] == list(expected.shape)
    assert w.position_max == expected.size - 1
    np.testing.assert_allclose(w.output, expected, atol=1e-12)
    w.position = 0
    seen = []
    for _ in range(expected.size):
        r, c = w.cell["row"], w.cell["col"]
        seen.append((r, c))
        assert w.cell["total"] == pytest.approx(expected[r, c], abs=1e-12)
        assert sum(map(sum, w.cell["products"])) == pytest.approx(expected[r, c], abs=1e-12)
        w.step()
    assert seen == [(r, c) for r in range(expected.shape[0]) for c in range(expected.shape[1])]
    assert w.position == 0  # wrapped around
    h, _ = png_size(w.input_view)
    assert h % w.shapes["padded"][0] == 0


def test_picking_and_editing_kernels(explorer):
    w = explorer
    w.kernel_name = "blur"
    assert w.kernel == conv.KERNELS["blur"].tolist()
    w.kernel_size = 5
    assert np.asarray(w.kernel).shape == (5, 5) and w.shapes["output"] == [3, 3]
    np.testing.assert_allclose(w.output, reference(w.grid, np.full((5, 5), 1 / 25), 1, 0, 1))
    w.kernel = [[0, 1], [2, 0]]
    assert w.kernel_name == "custom" and w.error == ""
    np.testing.assert_allclose(w.output, reference(w.grid, [[0, 1], [2, 0]], 1, 0, 1))
    w.kernel_name = "sharpen"
    w.kernel_size = 3
    assert w.kernel == conv.KERNELS["sharpen"].tolist() and w.kernel_name == "sharpen"


def test_photos_become_grids_of_the_chosen_size(explorer):
    w = explorer
    w.source = "camera"
    w.size = 20
    assert w.error == "" and w.shapes["input"] == [20, 20]
    np.testing.assert_allclose(w.grid, conv.image_grid("camera", 20))
    np.testing.assert_allclose(w.output, reference(w.grid, w.kernel, 1, 0, 1), atol=1e-12)


def test_the_size_slider_sizes_the_numbers_grid_too(explorer):
    from cnnwidgets.widgets.convolution import NUMBERS

    w = explorer
    assert (w.size, w.size_min, w.size_max) == (7, 3, 16)
    np.testing.assert_array_equal(w.grid, NUMBERS)
    w.size = 9
    assert w.error == "" and w.shapes["input"] == [9, 9]
    np.testing.assert_array_equal(w.grid[:7, :7], NUMBERS)  # the classic grid, then repeated
    np.testing.assert_array_equal(w.grid[7:, :7], np.asarray(NUMBERS)[:2])
    np.testing.assert_allclose(w.output, reference(w.grid, w.kernel, 1, 0, 1), atol=1e-12)
    assert np.asarray(w.values["input"]).shape == (9, 9)  # still small enough to write on
    w.size = 5
    np.testing.assert_array_equal(w.grid, np.asarray(NUMBERS)[:5, :5])
    # Each source keeps its own size.
    w.source = "camera"
    assert (w.size, w.size_min, w.size_max) == (24, 4, 128) and w.shapes["input"] == [24, 24]
    w.size = 20
    w.source = "numbers"
    assert w.size == 5 and w.shapes["input"] == [5, 5]
    w.source = "camera"
    assert w.size == 20 and w.shapes["input"] == [20, 20]
    w.source = "numbers"
    w.size = 30
    assert "between 3 and 16 for the numbers grid" in w.error
    w.size = 7
    assert w.error == "" and w.shapes["input"] == [7, 7]


def test_an_array_keeps_its_own_size(explorer):
    w = explorer
    assert w.set_image(np.arange(20.0).reshape(4, 5))
    assert (w.size, w.size_min, w.size_max) == (5, 5, 5)
    w.size = 8
    assert "4 x 5 as given" in w.error and w.shapes["input"] == [4, 5]
    w.source = "numbers"
    assert w.error == "" and w.size == 7


def test_bad_settings_show_an_error_and_the_widget_recovers(explorer):
    w = explorer
    w.dilation = 4
    assert "spans 9 pixels" in w.error
    assert "floor((7 + 2*0 - 4*(3 - 1) - 1) / 1) + 1" in w.formula  # the numbers still show
    w.padding = 1  # 7 + 2 = 9 pixels: now it fits
    assert w.error == "" and w.shapes["output"] == [1, 1]
    w.kernel = [[1, "x"]]
    assert "kernel weights must be numbers" in w.error
    w.kernel_name = "identity"
    assert w.error == ""
    w.position = 99
    assert "outside" in w.error
    w.position = 0
    assert w.error == ""


def test_small_grids_send_their_numbers_photos_do_not(explorer):
    w = explorer
    w.padding = 1
    assert np.asarray(w.values["input"]).shape == (9, 9)
    np.testing.assert_allclose(w.values["input"], np.pad(w.grid, 1))
    np.testing.assert_allclose(w.values["output"], np.round(w.output, 3))
    w.source = "camera"
    assert w.values == {}


def test_position_is_clamped_when_the_output_shrinks(explorer):
    w = explorer
    w.position = w.position_max
    w.stride = 2
    assert w.error == "" and w.position == w.position_max == 8
    assert (w.cell["row"], w.cell["col"]) == (2, 2)


def test_uploads_and_grids_of_numbers(explorer, cat):
    w = explorer
    w._on_action(w, {"type": "upload", "name": "notes.txt"}, [memoryview(b"plain text")])
    assert "notes.txt" in w.error and w.source == "numbers"
    assert not w.set_image("no-such-file.png") and "no-such-file" in w.error
    assert w.source == "numbers" and w.shapes["input"] == [7, 7]
    buf = io.BytesIO()
    cat.save(buf, format="PNG")
    w._on_action(w, {"type": "upload", "name": "cat.png"}, [memoryview(buf.getvalue())])
    assert w.error == "" and w.source == "custom" and w.shapes["input"] == [24, 24]
    grid = np.arange(20.0).reshape(4, 5)
    assert w.set_image(grid)
    np.testing.assert_array_equal(w.grid, grid)
    np.testing.assert_allclose(w.output, reference(grid, w.kernel, 1, 0, 1))


def test_constructor_arguments_and_bad_ones(no_thread_leak):
    w = cw.ConvolutionExplorer(np.ones((6, 6)), kernel=[[1, -1]], stride=2, padding=1)
    assert w.source == "custom"
    # rows (6 + 2 - 0 - 1) // 2 + 1 = 4, cols (6 + 2 - 1 - 1) // 2 + 1 = 4
    assert w.error == "" and w.kernel_name == "custom" and w.shapes["output"] == [4, 4]
    np.testing.assert_allclose(w.output, reference(np.ones((6, 6)), [[1, -1]], 2, 1, 1))
    w.close()
    bad = cw.ConvolutionExplorer("no-such-picture", kernel="nope")
    assert bad.error and bad.source == "numbers" and bad.kernel_name == "edge"
    assert bad.view.startswith(b"\x89PNG")  # usable meanwhile
    bad.source = "coins"
    assert bad.error == ""
    bad.close()


# ---- TrainingMonitor -----------------------------------------------------------------------------


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 10),
    )


@pytest.fixture(scope="module")
def small_digits():
    tr, va = digits_datasets(size=8)
    return Subset(tr, range(96)), Subset(va, range(64))


def test_monitor_runs_and_draws_the_curves(no_thread_leak, small_digits):
    tr, va = small_digits
    mon = cw.TrainingMonitor(tiny_model(), tr, va, epochs=2, batch_size=16, device="cpu")
    blank = mon.view
    assert mon.running is False and "Start" in mon.status
    mon.run()
    h = mon.history
    assert mon.error == "" and not mon.running and mon.progress == 1.0
    assert len(h.epochs) == 2 and len(h.batches) == 12 and not h.stopped
    assert list(mon._loss_line.x) == [b["step"] for b in h.batches]
    np.testing.assert_allclose(mon._loss_line.y, [b["loss"] for b in h.batches])
    np.testing.assert_allclose(mon._val_acc_line.y, [e["val_accuracy"] for e in h.epochs])
    assert mon.val_accuracy == pytest.approx(h.val_accuracy)
    assert mon.status.startswith("epoch 2/2 · step 12/12") and mon.status.endswith("done")
    assert mon.view.startswith(b"\x89PNG") and mon.view != blank
    mon.epochs = 1
    mon.run()  # trains on from the current weights, with fresh curves
    assert len(mon.history.batches) == 6 and len(mon._loss_line.x) == 6
    bundle = mon._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    box = mon.show()
    assert box.children[0] is mon and box.children[1].children == (
        mon.loss_figure,
        mon.accuracy_figure,
    )
    mon.close()


class Gate(Dataset):
    """Items of a data set; the ``at``-th fetch signals ``reached`` and waits for ``release``."""

    def __init__(self, data, at=40):
        self.data, self.fetches, self.at = data, 0, at
        self.reached, self.release = threading.Event(), threading.Event()

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.fetches += 1
        if self.fetches == self.at:
            self.reached.set()
            self.release.wait(10)
        return self.data[i]


def test_stop_ends_training_after_the_current_batch(no_thread_leak, small_digits):
    gate = Gate(small_digits[0])
    mon = cw.TrainingMonitor(tiny_model(), gate, epochs=50, batch_size=16, device="cpu")
    mon._on_action(mon, {"type": "start"}, [])
    assert gate.reached.wait(20)
    assert mon.running
    mon.stop(wait=False)
    gate.release.set()
    mon.wait()
    assert not mon.running and mon.error == ""
    # The 40th item belongs to batch 3; Stop is seen once that batch is fetched, before it trains.
    assert mon.history.stopped and len(mon.history.batches) == 2
    assert mon.status.endswith("stopped")
    mon.close()


def test_stopped_inside_an_epoch_the_status_stays_at_that_epoch(no_thread_leak, small_digits):
    # 96 items, 6 batches an epoch: fetch 136 is item 40 of epoch 2 (in its third batch).
    gate = Gate(small_digits[0], at=136)
    seen = []
    mon = cw.TrainingMonitor(tiny_model(), gate, epochs=50, batch_size=16, device="cpu")
    mon.observe(lambda c: seen.append(c.new), "status")
    mon.start()
    assert gate.reached.wait(30)
    mon.epochs = 11  # the slider moved during the run: this run still trains 50 epochs
    mon.stop(wait=False)
    gate.release.set()
    mon.wait()
    assert mon.error == "" and mon.history.stopped and len(mon.history.batches) == 8
    running = [s for s in seen if s.startswith("epoch 2/")]
    assert running and running[-1].startswith("epoch 2/50 · step 8/300")
    assert mon.status.startswith("epoch 2/50 · step 8/300") and mon.status.endswith("stopped")
    last = mon.history.batches[-1]
    assert f"loss {last['loss']:.3f} · accuracy {last['accuracy']:.3f}" in mon.status
    mon.close()


def test_training_errors_show_in_the_widget_which_stays_usable(no_thread_leak, small_digits):
    bad = TensorDataset(torch.full((8, 1, 8, 8), float("nan")), torch.zeros(8, dtype=torch.long))
    mon = cw.TrainingMonitor(tiny_model(), bad, epochs=1, device="cpu")
    with pytest.raises(WidgetError, match="loss became nan"):
        mon.run()
    assert "lower learning rate" in mon.error and not mon.running
    mon.train_data = small_digits[0]
    mon.run()
    assert mon.error == "" and len(mon.history.epochs) == 1
    mon.close()


def test_a_viewer_can_look_at_the_model_while_it_trains(no_thread_leak, small_digits, cat):
    gate = Gate(small_digits[0])
    net = cw.load_model(
        tiny_model(),
        labels=[str(i) for i in range(10)],
        mean=(0.5,),
        std=(0.5,),
        input_size=8,
        in_channels=1,
        device="cpu",
    )
    net.module.eval()
    mon = cw.TrainingMonitor(net, gate, epochs=50, batch_size=16, device="cpu")
    mon.start()
    assert gate.reached.wait(20)
    # Training is between batches (waiting for data): an engine call gets the model's lock,
    # and leaves the model in the train mode it found.
    maps = cw.feature_maps(net, cat, "0")
    assert maps.shape == (4, 8, 8) and net.module.training
    mon.stop(wait=False)
    gate.release.set()
    mon.wait()
    assert mon.error == "" and not net.module.training  # eval mode, as before training
    mon.close()
