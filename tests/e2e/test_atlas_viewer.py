"""AtlasViewer in a real JupyterLab: the grid shows, a click on a thumbnail opens the channel's
page, a click on a connection opens that input's page, the arrow keys step through channels,
Back returns, the search box goes to a channel or names the closest, and the widget fits a
lecture screen."""

from __future__ import annotations

import time

from .harness import record, seconds

# A tiny conv net and a few random images build an atlas in seconds; the viewer needs no model.
CELLS = [
    "import numpy as np, tempfile, torch\n"
    "from PIL import Image\n"
    "import cnnwidgets as cw\n"
    "torch.manual_seed(0)\n"
    "net = torch.nn.Sequential()\n"
    "net.add_module('conv1', torch.nn.Conv2d(3, 6, 3, padding=1))\n"
    "net.add_module('relu1', torch.nn.ReLU())\n"
    "net.add_module('conv2', torch.nn.Conv2d(6, 8, 3, padding=1, stride=2))\n"
    "net.add_module('relu2', torch.nn.ReLU())\n"
    "net.add_module('pool', torch.nn.AdaptiveAvgPool2d(1))\n"
    "net.add_module('flatten', torch.nn.Flatten())\n"
    "net.add_module('fc', torch.nn.Linear(8, 3))\n"
    "m = cw.load_model(net, input_size=32, labels=['a', 'b', 'c'], device='cpu')\n"
    "rng = np.random.default_rng(0)\n"
    "data = [(Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)), i)\n"
    "        for i in range(8)]\n"
    "atlas = cw.build_atlas(m, tempfile.mkdtemp(), ['relu1', 'relu2'], channels='0-5',\n"
    "                       data=data, k=3, steps=4, size=32, progress=False)",
    "v = cw.AtlasViewer(atlas)\nv",
]
VIEWER = 1


def wait_for(predicate, timeout: float, what: str, lab):
    deadline = time.time() + seconds(timeout)
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    lab.fail(f"{what} within {timeout} s")


def test_atlas_viewer_grid_channel_connection_keys_back_and_search(lab):
    lab.open_notebook("atlas_viewer.ipynb", CELLS)
    w = lab.widget(VIEWER, kind="atlas-viewer")
    w.wait_painted()
    mode = lambda: w.root.get_attribute("data-mode")  # noqa: E731
    caption = lambda: w.text("caption")  # noqa: E731
    assert mode() == "grid" and "relu1: channels 0–5 (1–6 of 6)" in caption()
    assert w.control("back").is_disabled()
    w.screenshot("grid")

    # the second layer's grid, then a click on its third thumbnail (one row of six)
    w.change("layer", lambda: w.select("layer", index=1))
    wait_for(lambda: caption().startswith("relu2:"), 30, "the relu2 grid did not show", lab)
    view = w.control("view")
    box = view.bounding_box()
    view.hover(position={"x": box["width"] * 2.5 / 6, "y": box["height"] / 2})
    wait_for(lambda: w.text("hover") == "channel 2", 10, "no hover readout", lab)
    opened = w.change(
        "view", lambda: view.click(position={"x": box["width"] * 2.5 / 6, "y": box["height"] / 2})
    )
    assert mode() == "channel" and caption().startswith("relu2 : channel 2 (3 of 6)")
    links = w.root.locator('[data-testid="connection"]')
    wait_for(lambda: links.count() == 3, 30, "the channel's three inputs did not show", lab)
    root = w.root.bounding_box()  # the widget's own element (data-widget)
    assert root["width"] <= 1280 and root["height"] <= 720, root
    w.screenshot("channel")

    # a click on an input opens that channel of the previous layer
    target = links.nth(1)
    to = int(target.get_attribute("data-channel"))
    assert target.get_attribute("data-layer") == "relu1"
    followed = w.change("connection", lambda: target.click())
    assert caption().startswith(f"relu1 : channel {to} "), caption()
    assert links.count() == 0  # the first atlas layer has no inputs
    assert "first layer" in w.text("connections_title")

    # the arrow keys (the widget has the focus after the click) step to the next channel
    step_to = to + 1 if to < 5 else to - 1
    before = w.signature()
    lab.page.keyboard.press("ArrowRight" if to < 5 else "ArrowLeft")
    wait_for(
        lambda: caption().startswith(f"relu1 : channel {step_to} "),
        30,
        "the arrow key did not move to the next channel",
        lab,
    )
    w.wait_quiet()
    assert w.signature() != before

    # Back: to the channel before, then to the channel whose input we followed
    w.change("back", lambda: w.click("back"))
    assert caption().startswith(f"relu1 : channel {to} ")
    back = w.change("back", lambda: w.click("back"))
    assert caption().startswith("relu2 : channel 2 ") and links.count() == 3
    assert back.after == opened.after  # the same picture as when it was opened

    # search: a place goes there; an unknown one names the closest and moves nothing
    search = w.input_of("search")
    w.change("search", lambda: (search.fill("relu2:4"), search.press("Enter")))
    assert caption().startswith("relu2 : channel 4 ")
    search.fill("relu2:9")
    search.press("Enter")
    text = w.wait_error()
    assert "channel 9 of 'relu2'" in text and "closest: 5" in text, text
    assert caption().startswith("relu2 : channel 4 ")
    w.screenshot("search-error")
    record(
        "test_atlas_viewer",
        {
            "open_channel_ms": opened.latency_ms,
            "follow_connection_ms": followed.latency_ms,
            "back_ms": back.latency_ms,
            "widget_px": [root["width"], root["height"]],
        },
    )
