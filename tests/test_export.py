"""A notebook exported to HTML carries each widget's last state, picture included."""

import base64
import json
import re

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
