"""AtlasViewer: the grid of a layer one page at a time (only that page's pictures read and
sent, with 2,000 channels), a channel's figure and connections, navigation by clicks,
connections, arrow keys, search and Back, and refused input shown as errors."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

import cnnwidgets as cw
from cnnwidgets.atlas.examples import write_examples
from cnnwidgets.atlas.renders import write_unit
from cnnwidgets.atlas.store import FORMAT, Layout, write_json
from cnnwidgets.render.images import figure_png
from cnnwidgets.widgets.atlas import CONNECTION_TILE, FIGURE_DPI, PAGE_SIZE, TILE

torch.set_num_threads(1)  # a shared 2-core machine


# ---- a small atlas, built -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real build: two layers of a tiny conv net, connections from relu2 to relu1."""
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("conv1", torch.nn.Conv2d(3, 6, 3, padding=1))
    net.add_module("relu1", torch.nn.ReLU())
    net.add_module("conv2", torch.nn.Conv2d(6, 8, 3, padding=1, stride=2))
    net.add_module("relu2", torch.nn.ReLU())
    net.add_module("pool", torch.nn.AdaptiveAvgPool2d(1))
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("fc", torch.nn.Linear(8, 3))
    m = cw.load_model(net, input_size=32, labels=["a", "b", "c"], device="cpu")
    rng = np.random.default_rng(0)
    data = [
        (Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)), i) for i in range(8)
    ]
    out = tmp_path_factory.mktemp("atlas_viewer") / "atlas"
    return cw.build_atlas(
        m, out, ["relu1", "relu2"], channels=[0, 1, 2, 4, 5], data=data, k=3, steps=2, size=16,
        batch_size=4, progress=False, checkpoint_interval=0,
    )  # fmt: skip


@pytest.fixture()
def viewer(built, no_thread_leak):
    w = cw.AtlasViewer(built.path)  # a path, as a user may pass it
    yield w
    w.close()


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB")).astype(np.float32)


def assert_shows_figure(view: bytes, channel) -> None:
    """``view`` is the channel's six-column figure (sent as PNG or, when smaller, JPEG)."""
    png = figure_png(channel.figure(rows=3, tile=1.0), dpi=FIGURE_DPI)
    if view.startswith(b"\x89PNG"):
        assert view == png
    else:
        assert view[:3] == b"\xff\xd8\xff" and len(view) < len(png)
        a, b = pixels(view), pixels(png)
        assert a.shape == b.shape and np.abs(a - b).mean() < 2.0


def test_opens_on_the_grid_of_the_first_layer(viewer, built):
    w = viewer
    assert w.error == "" and w.layer == "relu1" and w.channel == -1
    assert w.layer_options == [["relu1 (5 channels)", "relu1"], ["relu2 (5 channels)", "relu2"]]
    assert w.view[:3] == b"\xff\xd8\xff"  # the page of thumbnails, a JPEG
    assert w.grid_layout == {"ncols": 5, "nrows": 1, "channels": [0, 1, 2, 4, 5]}
    assert (w.page, w.page_max, w.page_size) == (0, 0, PAGE_SIZE)
    assert png_size(built.thumbnail("relu1", 0)) == (16, 16)
    with Image.open(io.BytesIO(w.view)) as im:
        assert im.size == (5 * (TILE + 2) + 2, TILE + 4)
    assert "channels 0–5 (1–5 of 5)" in w.caption
    assert w.history == [] and w.connections == [] and w.search == ""


def test_a_click_on_a_thumbnail_opens_the_channel_page(viewer, built):
    w = viewer
    w.channel = 4  # what a click on the fourth tile sends
    w.flush()
    assert w.error == "" and (w.layer, w.channel) == ("relu1", 4)
    # the six-column figure of the stored pictures and examples, all three rows of them
    assert_shows_figure(w.view, built.channel("relu1", 4))
    assert w.grid_layout == {}
    assert "relu1 : channel 4 (4 of 5)" in w.caption and "conv1 (pre-activation)" in w.caption
    assert "8 images" in w.caption
    # the first atlas layer has no inputs
    assert w.connections == [] and "first layer" in w.connections_title
    assert w.history == [["relu1", -1]]


def test_connections_are_clickable_and_back_returns(viewer, built):
    w = viewer
    w.goto("relu2", 1)
    w.flush()
    conns = built.channel("relu2", 1).connections
    assert len(conns) == 3
    assert [(c["layer"], c["channel"], c["weight"]) for c in w.connections] == [
        (c.layer, c.channel, c.weight) for c in conns
    ]
    for c in w.connections:
        assert png_size(c["png"]) == (CONNECTION_TILE, CONNECTION_TILE)
    assert w.connections_title.startswith("strongest inputs from relu1")

    target = w.connections[0]
    w._on_action(
        w, {"type": "navigate", "layer": target["layer"], "channel": target["channel"]}, []
    )
    w.flush()
    assert (w.layer, w.channel) == ("relu1", target["channel"]) and w.error == ""
    assert_shows_figure(w.view, built.channel("relu1", target["channel"]))
    assert w.history == [["relu1", -1], ["relu2", 1]]

    w._on_action(w, {"type": "back"}, [])
    w.flush()
    assert (w.layer, w.channel) == ("relu2", 1) and w.history == [["relu1", -1]]
    assert [c["channel"] for c in w.connections] == [c.channel for c in conns]
    assert w.back() and (w.layer, w.channel) == ("relu1", -1) and w.history == []
    w.flush()
    assert w.view[:3] == b"\xff\xd8\xff" and w.grid_layout["channels"] == [0, 1, 2, 4, 5]
    assert w.back() is False  # nothing left: nothing moves


def test_arrow_keys_step_through_channels_and_stop_at_the_ends(viewer):
    w = viewer
    w.goto("relu2", 2)
    for delta, expected in [(1, 4), (1, 5), (1, 5), (-1, 4), (-1, 2), (-1, 1), (-1, 0), (-1, 0)]:
        w._on_action(w, {"type": "step", "delta": delta}, [])
        assert w.channel == expected, (delta, expected)
    # a burst of moves draws the last place only
    w.flush()
    assert "relu2 : channel 0 (1 of 5)" in w.caption
    # a step at an end is no move: nothing to go back to there
    assert w.history[-1] == ["relu2", 1]
    # "All channels" opens the grid on the page of the channel just seen
    w._on_action(w, {"type": "grid"}, [])
    assert (w.layer, w.channel, w.page) == ("relu2", -1, 0)


def test_search_goes_to_a_channel_a_layer_or_names_the_closest(viewer):
    w = viewer
    w.search = "2"
    assert (w.layer, w.channel) == ("relu1", 2) and w.error == "" and w.search == ""
    w.search = " relu2 : 5 "
    assert (w.layer, w.channel) == ("relu2", 5) and w.error == ""
    w.search = "relu1"  # a layer alone: its grid
    assert (w.layer, w.channel, w.page) == ("relu1", -1, 0)
    w.search = "relu2:"
    assert (w.layer, w.channel) == ("relu2", -1)

    w.search = "3"  # relu2 holds 0, 1, 2, 4, 5
    assert "channel 3 of 'relu2' is not in this atlas" in w.error
    assert "closest: 2, 4" in w.error
    w.search = "99"
    assert w.error.endswith("closest: 5")
    assert (w.layer, w.channel) == ("relu2", -1) and w.search == "99"  # kept, to fix
    w.search = "relu3:1"
    assert "no layer 'relu3'" in w.error
    assert set(w.error.split("closest: ")[1].split(", ")) == {"relu1", "relu2"}
    w.search = "conv-something"
    assert "cannot find 'conv-something'" in w.error and "layer:channel" in w.error
    # the widget still works, and a good search clears the error
    w.search = "relu1:5"
    assert w.error == "" and (w.layer, w.channel) == ("relu1", 5)
    w.flush()
    assert w.error == "" and "relu1 : channel 5" in w.caption


def test_a_search_error_survives_the_draw_of_the_move_before(viewer):
    w = viewer
    w.channel = 1  # a draw is now pending
    w.search = "77"
    w.flush()  # the draw succeeds; the error is about the search and stays
    assert "channel 77" in w.error and "relu1 : channel 1" in w.caption


def test_bad_trait_values_are_refused_and_undone(viewer):
    w = viewer
    w.goto("relu2", 4)
    w.channel = 3
    assert "channel 3 of 'relu2'" in w.error and w.channel == 4
    w.layer = "nope"
    assert "no layer 'nope'" in w.error and w.layer == "relu2" and w.channel == 4
    w.page = 2
    assert "page 2 is out of range" in w.error and w.page == 0 and w.channel == 4
    w.page_size = 0
    assert "page_size must lie in 1..512" in w.error and w.page_size == PAGE_SIZE
    w.layer = "relu1"  # still usable
    assert w.error == "" and (w.layer, w.channel) == ("relu1", -1)
    assert not w.goto("relu1", 3) and "closest: 2, 4" in w.error
    w.search = "-1"
    assert "numbered from 0" in w.error and w.channel == -1


def test_pages_of_a_small_page_size(built, no_thread_leak):
    w = cw.AtlasViewer(built, page_size=2)
    assert (w.page, w.page_max, w.grid_layout["channels"]) == (0, 2, [0, 1])
    w.page = 1
    w.flush()
    assert w.grid_layout["channels"] == [2, 4] and w.history == []  # a page is no new place
    w.page = 7  # refused: the page shown stays
    assert "page 7 is out of range" in w.error and w.page == 1
    w.flush()
    assert w.grid_layout["channels"] == [2, 4]
    w.channel = 5  # on the last page; the grid reopens there
    w._on_action(w, {"type": "grid"}, [])
    w.flush()
    assert w.page == 2 and w.grid_layout["channels"] == [5]
    w.page = 0  # while a channel is shown, a page opens the grid there
    w.channel = 1
    w.page = 2
    assert (w.channel, w.page) == (-1, 2) and w.history[-1] == ["relu1", 1]
    w.close()


def test_bad_arguments_are_clear_errors(built, tmp_path, no_thread_leak):
    with pytest.raises(TypeError, match="pass cw.load_atlas"):
        cw.AtlasViewer(object())
    with pytest.raises(cw.atlas.AtlasIncompleteError, match="no atlas"):
        cw.AtlasViewer(tmp_path)
    with pytest.raises(ValueError, match="closest: relu2"):
        cw.AtlasViewer(built, layer="relu2x")
    with pytest.raises(ValueError, match="closest: 2, 4"):
        cw.AtlasViewer(built, layer="relu2", channel=3)
    with pytest.raises(ValueError, match="page_size"):
        cw.AtlasViewer(built, page_size=0)
    with pytest.raises(ValueError, match="rows must be at least 1"):
        cw.AtlasViewer(built, rows=0)
    w = cw.AtlasViewer(built, "relu2", 5, rows=1)
    assert w.channel == 5 and "1 of 3 per column shown" in w.caption
    w.close()


def test_close_leaves_nothing_behind(built, no_thread_leak):
    w = cw.AtlasViewer(built)
    w.channel = 2  # a draw pending in its thread
    w.close()
    assert w.comm is None
    assert not (w._grids or w._figures or w._thumbs)


# ---- a big atlas, written with the store's own functions ---------------------------------------
N_BIG = 2000


@dataclass
class FakeExample:
    value: float
    image_id: tuple
    position: tuple
    box: tuple
    crop: np.ndarray


def color(c: int) -> np.ndarray:
    """A colour per channel, so that a tile of the grid tells which channel it shows."""
    return np.array([(c * 37) % 256, (c * 91 + 40) % 256, (c // 8 * 23) % 256], np.uint8)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Layer "small" (8 channels) feeding layer "big" (2,000), every file as a build writes it."""
    root = tmp_path_factory.mktemp("atlas_big")
    layout = Layout(root)
    k, crop = 2, 8
    layers = [("small", list(range(8)), None), ("big", list(range(N_BIG)), "small")]
    for name, chans, previous in layers:
        for c in chans:
            pos = np.broadcast_to(color(c), (16, 16, 3))
            write_unit(layout, name, c, None, pos)
            ex = {
                col: [
                    FakeExample(
                        float(i + 1), (i, f"img{i}"), (0, 0), (0, 0, 8, 8), pos[:crop, :crop]
                    )
                    for i in range(k)
                ]
                for col in ("min", "slightly_negative", "slightly_positive", "max")
            }
            write_examples(layout, name, c, ex, k, crop)
            if previous:
                inputs = [{"channel": (c + j) % 8, "weight": 0.5 - j} for j in range(3)]
                write_json(
                    layout.channel_dir(name, c) / "connections.json",
                    {"previous": previous, "inputs": inputs},
                    durable=False,
                )
    index = {
        "format": FORMAT,
        "complete": True,
        "model": {"name": "synthetic"},
        "layers": [
            {"name": n, "scanned": n, "channels": ch, "shape": [len(ch), 4, 4], "previous": p}
            for n, ch, p in layers
        ],
        "settings": {"k": k, "steps": 0, "size": 16, "negative": False},
        "data": {"images": 2, "description": "none"},
    }
    write_json(layout.index, index)
    return cw.load_atlas(root)


class Reads:
    """Counts the channels whose files the viewer opens."""

    def __init__(self, atlas):
        self.channels: list[tuple[str, int]] = []
        original = atlas.channel

        def channel(layer, c):
            self.channels.append((layer, int(c)))
            return original(layer, c)

        atlas.channel = channel  # the instance's own: Atlas.sprite and thumbnail call it

    def take(self) -> list[tuple[str, int]]:
        out, self.channels = self.channels, []
        return out


def sent_bytes(w) -> int:
    """What the widget's state weighs on the wire: binary buffers plus the JSON rest."""
    state = w.get_state()
    binary = 0

    def strip(x):
        nonlocal binary
        if isinstance(x, (bytes, bytearray, memoryview)):
            binary += len(x)
            return None
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [strip(v) for v in x]
        return x

    rest = strip({k: v for k, v in state.items() if k not in ("_esm", "_css")})
    return binary + len(json.dumps(rest))


def tile_color(view: bytes, i: int, ncols: int) -> np.ndarray:
    with Image.open(io.BytesIO(view)) as im:
        a = np.asarray(im.convert("RGB")).astype(int)
    r, col = divmod(i, ncols)
    y, x = 2 + r * (TILE + 2) + TILE // 2, 2 + col * (TILE + 2) + TILE // 2
    return a[y - 4 : y + 4, x - 4 : x + 4].reshape(-1, 3).mean(0)


def test_a_layer_of_2000_channels_is_read_and_sent_one_page_at_a_time(big, no_thread_leak):
    reads = Reads(big)
    w = cw.AtlasViewer(big, "big")
    # construction: the first page's pictures only, and one page's worth on the wire
    assert sorted(reads.take()) == [("big", c) for c in range(PAGE_SIZE)]
    assert (w.page, w.page_max) == (0, (N_BIG - 1) // PAGE_SIZE) == (0, 20)
    first = sent_bytes(w)
    assert len(w.view) < 100_000 and first < 120_000, (len(w.view), first)
    state = w.get_state()
    longest = max(len(v) for v in state.values() if isinstance(v, list))
    assert longest <= PAGE_SIZE  # no trait lists the layer's channels
    assert w.grid_layout["channels"] == list(range(PAGE_SIZE))
    for i in (0, 17, PAGE_SIZE - 1):
        assert np.abs(tile_color(w.view, i, 16) - color(i)).max() < 12, i

    # a page turn reads that page only; the last page is short
    w.page = 20
    w.flush()
    assert sorted(reads.take()) == [("big", c) for c in range(20 * PAGE_SIZE, N_BIG)]
    assert w.grid_layout["channels"] == list(range(1920, 2000)) and w.grid_layout["nrows"] == 5
    assert np.abs(tile_color(w.view, 5, 16) - color(1925)).max() < 12
    assert sent_bytes(w) < 120_000 and "channels 1920–1999 (1921–2000 of 2000)" in w.caption
    # the arrow keys turn pages on the grid; a page seen before comes from the cache
    w._on_action(w, {"type": "step", "delta": -1}, [])
    assert w.page == 19
    w.flush()
    assert sorted(reads.take()) == [("big", c) for c in range(19 * PAGE_SIZE, 20 * PAGE_SIZE)]
    w.page = 20
    w.flush()
    assert reads.take() == [] and w.grid_layout["channels"][0] == 1920

    # a channel deep in the layer: its own files (and its inputs' thumbnails), then the grid
    # opens on the page that holds it
    w.channel = 1500
    w.flush()
    opened = reads.take()
    assert {c for layer, c in opened if layer == "big"} == {1500}
    assert {(layer, c) for layer, c in opened if layer == "small"} == {
        ("small", 1500 % 8),
        ("small", 1501 % 8),
        ("small", 1502 % 8),
    }
    assert [c["weight"] for c in w.connections] == [0.5, -0.5, -1.5]
    assert "channel 1500 (1501 of 2000)" in w.caption
    w._on_action(w, {"type": "grid"}, [])
    w.flush()
    assert w.page == 1500 // PAGE_SIZE and 1500 in w.grid_layout["channels"]

    # a smaller page keeps the first channel shown in view
    first_shown = w.grid_layout["channels"][0]
    w.page_size = 10
    w.flush()
    assert w.grid_layout["channels"][0] <= first_shown < w.grid_layout["channels"][-1] + 1
    assert len(w.grid_layout["channels"]) == 10 and w.page_max == 199
    w.close()
