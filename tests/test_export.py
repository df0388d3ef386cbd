"""A notebook exported to HTML carries each widget's last state, picture included."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor

CODE = """
import cnnwidgets as cw, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
m = cw.load_model(net, labels=["a", "b", "c"], input_size=32, device="cpu")
viewer = cw.FeatureMapViewer(m, cw.load_image("cat"))
viewer
"""


@pytest.mark.slow
def test_exported_html_holds_the_widget_state_and_its_picture(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE)])
    ExecutePreprocessor(timeout=300, kernel_name="python3", store_widget_state=True).preprocess(
        nb, {"metadata": {"path": str(tmp_path)}}
    )
    html, _ = HTMLExporter().from_notebook_node(nb)

    state_json = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S
    )
    assert state_json, "no widget state in the exported HTML"
    states = json.loads(state_json.group(1))["state"]
    anywidgets = [s["state"] for s in states.values() if s["model_name"] == "AnyModel"]
    assert len(anywidgets) == 1
    state = anywidgets[0]
    assert "as default" in state["_esm"]  # the front end travels with the page
    assert state["layer"] and state["error"] == ""
    # Binary traits are stored as base64 buffers beside the state; `view` must be a PNG.
    buffers = [s.get("buffers", []) for s in states.values() if s["model_name"] == "AnyModel"][0]
    view = [b for b in buffers if b["path"] == ["view"]]
    assert view and base64.b64decode(view[0]["data"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "application/vnd.jupyter.widget-view+json" in html


# ---- docs/build_static.py: offline pages with the widgets' pictures ----------------------------
REPO = Path(__file__).resolve().parent.parent
BUILD_STATIC = REPO / "docs" / "build_static.py"
SMALL_CELLS = [
    CODE,
    "cam = cw.GradCAMViewer(m, cw.load_image('cat'))\ncam",
    # A change in a later cell: the page must show the picture as it ended, not as displayed.
    "cam.method = 'layercam'\ncam.flush()\nprint(cam.caption)",
]


def run_build(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BUILD_STATIC), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=3600,
    )


@pytest.fixture(scope="module")
def small_page(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("static")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in SMALL_CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src = tmp / "small.ipynb"
    nbformat.write(nb, src)
    done = run_build([str(src), "--out", str(tmp / "out")])
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "out" / "small.html"


def pictures(html: str) -> list[tuple[str, str]]:
    """(image mime type, caption) of every static widget picture in a page."""
    found = []
    for block in re.findall(
        r'<div class="cnnw-static" data-cnnw-static="\w+">(.*?)</div>', html, re.S
    ):
        for img, caption in re.findall(
            r"<img([^>]*)>.*?<figcaption[^>]*>(.*?)</figcaption>", block, re.S
        ):
            mime = re.search(r'src="data:(image/\w+);base64,[A-Za-z0-9+/=]+"', img)
            if mime:
                found.append((mime.group(1), caption))
    return found


def assert_offline_page(html: str) -> None:
    assert "application/vnd.jupyter.widget-view+json" not in html
    assert "widget-state+json" not in html
    assert not re.search(r"<script[^>]+src=", html), re.findall(r"<script[^>]+src=[^>]*>", html)
    assert not re.search(r"<link[^>]+href=\"?https?:", html)


@pytest.mark.slow
def test_build_static_writes_a_page_whose_widgets_are_their_last_pictures(small_page):
    html = small_page.read_text()
    assert_offline_page(html)
    shown = pictures(html)
    assert [c.split(":")[0] for _, c in shown] == ["FeatureMapViewer", "GradCAMViewer"], shown
    assert "LayerCAM" in shown[1][1]  # as the later cell left it
    assert "cnnwidgets.widgets" not in html  # no text repr where a widget was


@pytest.mark.slow
def test_build_static_lecture_notebooks(tmp_path):
    # Every lecture notebook, executed (short loops) into an offline page: about 2.5 minutes.
    done = run_build(["--fast", "--out", str(tmp_path)])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    pages = sorted(tmp_path.glob("*.html"))
    assert [p.stem for p in pages] == sorted(p.stem for p in REPO.glob("notebooks/*.ipynb"))
    for page in pages:
        html = page.read_text()
        assert_offline_page(html)
        assert pictures(html), f"{page.name} shows no widget picture"


@pytest.mark.e2e
def test_the_static_page_shows_every_picture_with_the_network_off(small_page, browser):
    requests = []
    context = browser.new_context()
    try:
        context.set_offline(True)

        def watch(route):
            requests.append(route.request.url)
            if route.request.url.startswith(("file:", "data:")):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", watch)
        page = context.new_page()
        page.goto(small_page.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-cnnw-static] img')].every(i => i.complete)"
        )
        shown = page.evaluate(
            """() => [...document.querySelectorAll('[data-cnnw-static] img')].map(i => {
                const r = i.getBoundingClientRect();
                return {natural: i.naturalWidth, w: r.width, h: r.height,
                        visible: getComputedStyle(i).visibility !== 'hidden'};
            })"""
        )
    finally:
        context.close()
    assert len(shown) == 2, shown
    assert all(s["natural"] > 0 and s["w"] > 0 and s["h"] > 0 and s["visible"] for s in shown)
    network = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert network == [], network
