"""Uploads of big pictures in a real JupyterLab: a 6000 x 6000 PNG is made smaller in the browser
and shown, a file over the 50 MB limit is refused with a message, and in both cases the
connection to the kernel survives (the widget answers its controls afterwards).

Jupyter's server closes the websocket on a frame over its size limit (10 MiB by default), which
is how a 60 MB photo used to leave a widget dead without a word. The page's websocket frames are
watched here: none of them may come near that limit."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

CELLS = [
    "import cnnwidgets as cw\nm = cw.load_model('simple_cnn', input_size=64, device='cpu')",
    "fm = cw.FeatureMapViewer(m, 'cat')\nfm",
]
VIEWER = 1
FRAME_LIMIT = 10 * 1024 * 1024  # tornado's default websocket_max_message_size


@pytest.fixture(scope="module")
def uploads(module_lab):
    frames: list[int] = []

    def on_socket(ws):
        ws.on("framesent", lambda payload: frames.append(len(payload)))

    # Registered before the page loads, so the kernel's websocket is seen from its start.
    module_lab.page.on("websocket", on_socket)
    module_lab.open_notebook("uploads.ipynb", CELLS)
    module_lab.frames_sent = frames
    return module_lab


def big_png(path, side: int = 6000) -> int:
    """A 6000 x 6000 photo-like PNG (smooth colours and rings, so it compresses to a few MB)."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    r = np.hypot(x - 0.5, y - 0.5)
    img = np.stack([x, y, 0.5 + 0.5 * np.sin(40 * r)], axis=-1)
    Image.fromarray((img * 255).astype(np.uint8)).save(path, "PNG", compress_level=6)
    return path.stat().st_size


def responsive(w) -> None:
    """The kernel still answers: another channel redraws the enlarged picture."""
    v0 = int(w.value("channel"))
    w.change("channel", lambda: w.press("channel", "ArrowUp"), picture="detail")
    assert int(w.value("channel")) == v0 + 1


def test_a_6000_px_png_is_shrunk_in_the_browser_and_shown(uploads, tmp_path):
    w = uploads.widget(VIEWER)
    w.wait_painted(picture="photo")
    path = tmp_path / "huge-photo.png"
    size = big_png(path)
    before = len(uploads.frames_sent)
    # What the upload control says while it works (it is cleared once the picture is sent).
    w.control("upload-status").evaluate(
        """el => { window.__uploadStatus = [];
                   new MutationObserver(() => window.__uploadStatus.push(el.textContent))
                       .observe(el, {childList: true, characterData: true, subtree: true}); }"""
    )

    c = w.change(
        "upload",
        lambda: w.control("upload").set_input_files(str(path)),
        picture="photo",
        timeout=240,
    )
    assert c.after != c.before and w.error_text() == ""
    said = uploads.page.evaluate("window.__uploadStatus")
    assert any("6000×6000 to 2048×2048" in t for t in said), said
    sent = uploads.frames_sent[before:]
    assert sent and max(sent) < 4 * 1024 * 1024, (
        f"the {size / 2**20:.1f} MB file went out in frames of up to "
        f"{max(sent, default=0) / 2**20:.1f} MB; a 2048 px JPEG is well under 4 MB"
    )
    w.screenshot("huge-photo")
    responsive(w)


def test_a_file_over_the_limit_is_refused_before_it_is_sent(uploads, tmp_path):
    w = uploads.widget(VIEWER)
    path = tmp_path / "sixty.png"
    noise = np.random.default_rng(0).integers(0, 256, (4600, 4600, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, "PNG", compress_level=0)
    megabytes = path.stat().st_size / 2**20
    assert megabytes > 50
    before = len(uploads.frames_sent)

    w.control("upload").set_input_files(str(path))
    text = w.wait_error()
    assert re.search(rf"sixty\.png is {megabytes:.1f} MB", text) and "50.0 MB" in text, text
    assert max(uploads.frames_sent[before:], default=0) < FRAME_LIMIT / 10
    w.screenshot("refused")

    # Dismissed, the widget works on, and a small photo still uploads.
    w.click("error-dismiss")
    responsive(w)
    buf = io.BytesIO()
    Image.open(path).crop((0, 0, 300, 200)).save(buf, "PNG")
    w.change(
        "upload",
        lambda: w.upload("upload", "small.png", buf.getvalue(), "image/png"),
        picture="photo",
    )
    assert w.error_text() == ""
