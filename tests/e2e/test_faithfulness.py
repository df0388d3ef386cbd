"""Faithfulness beside the map in a real JupyterLab: a GradCAMViewer on the default model shows
its deletion / insertion chart (bqplot) beside the map and the areas as numbers; another method
updates the numbers and the chart; "Score all methods" fills the table with every method; the
widget and its chart fit a 1280 x 720 lecture screen. Timings are recorded, never asserted."""

from __future__ import annotations

import time

import pytest

from .harness import record, seconds

CELLS = [
    "import cnnwidgets as cw\nm = cw.load_model('efficientnet_lite0')",
    "w = cw.GradCAMViewer(m, 'cat')\nw",
]
VIEWER = 1


@pytest.fixture(scope="module")
def notebook(module_lab):
    module_lab.open_notebook("faithfulness.ipynb", CELLS)
    return module_lab


def wait_for(lab, probe, timeout: float, what: str):
    """Polls ``probe()`` until it returns something truthy, and returns that."""
    deadline = time.time() + seconds(timeout)
    value = None
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    lab.fail(f"{what} within {timeout} s (last: {value!r})")


def chart_state(out) -> dict:
    """The bqplot figure in the cell's output: its size, title and drawn lines."""
    return out.evaluate(
        """el => {
            const fig = el.querySelector('.bqplot');
            if (!fig) return {found: false};
            const r = fig.getBoundingClientRect();
            const lines = [...fig.querySelectorAll('g.curve path.line')]
                .map(p => (p.getAttribute('d') || '').split('L').length);
            return {found: true, width: r.width, height: r.height, lines,
                    text: fig.textContent};
        }"""
    )


def lecture_screen(w, out) -> list[float]:
    """The widget and its chart fit a 1280 x 720 screen: [width, height] they cover."""
    size = out.evaluate(
        """el => {
            const rects = [el.querySelector('.cnnw'), el.querySelector('.bqplot')]
                .map(e => e.getBoundingClientRect());
            const left = Math.min(...rects.map(r => r.left));
            const right = Math.max(...rects.map(r => r.right));
            const top = Math.min(...rects.map(r => r.top));
            const bottom = Math.max(...rects.map(r => r.bottom));
            return [right - left, bottom - top];
        }"""
    )
    assert size[0] <= 1280 and size[1] <= 720, size
    return size


def test_chart_numbers_method_change_and_table(notebook):
    w = notebook.widget(VIEWER)
    w.wait_painted()
    out = notebook.cells().nth(VIEWER).locator(".jp-OutputArea")

    # the numbers line and the chart of both curves (21 points each) beside the map
    t0 = time.time()
    numbers = wait_for(
        notebook,
        lambda: "Deletion AUC" in w.text("faithfulness") and w.text("faithfulness"),
        240,
        "no faithfulness numbers",
    )
    chart = wait_for(
        notebook,
        lambda: (s := chart_state(out)).get("found") and s["lines"] == [21, 21] and s,
        120,
        "no chart with two curves of 21 points",
    )
    shown_s = time.time() - t0
    assert 200 <= chart["width"] <= 320 and 140 <= chart["height"] <= 220, chart
    auc = numbers.split("Deletion AUC ")[1].split(" ")[0]
    assert auc in chart["text"], (auc, chart["text"])
    view = w.view.bounding_box()
    fig = out.locator(".bqplot").first.bounding_box()
    assert fig["x"] >= view["x"] + view["width"] - 1, "the chart is not beside the map"
    w.screenshot("faithfulness-shown")

    # another method: a new map, then new numbers and a new chart title
    method = w.change("method", lambda: w.select("method", label="LayerCAM"))
    t1 = time.time()
    updated = wait_for(
        notebook,
        lambda: (t := w.text("faithfulness")) != numbers and "Deletion AUC" in t and t,
        240,
        "the numbers did not follow the method",
    )
    numbers_s = time.time() - t1
    new_auc = updated.split("Deletion AUC ")[1].split(" ")[0]
    wait_for(notebook, lambda: new_auc in chart_state(out)["text"], 60, "the chart did not follow")

    shown = lecture_screen(w, out)

    # every method's scores: the table lists each registered method, scored or skipped
    labels = w.options("method")
    t2 = time.time()
    w.click("score_all")
    rows = wait_for(
        notebook,
        lambda: (
            int(w.control("compare").get_attribute("data-rows") or 0)
            and w.control("compare").get_attribute("data-pending") == "false"
            and w.control("compare").locator("tbody tr").all_inner_texts()
        ),
        900,
        "the table of every method did not fill",
    )
    table_s = time.time() - t2
    skipped = w.text("compare_skipped") if w.has("compare_skipped") else ""
    for label in labels:
        assert any(r.startswith(label) for r in rows) or label in skipped, (label, rows, skipped)
    assert len(rows) >= len(labels) - 1, rows
    assert "LayerCAM" in w.control("compare").locator("tr.cnnw-current").inner_text()
    w.screenshot("faithfulness-table")
    with_table = lecture_screen(w, out)

    # the sanity check: the randomised model's map beside the map, the correlation in the caption
    w.change("sanity", lambda: w.click("sanity"))
    caption = wait_for(
        notebook,
        lambda: "Spearman" in (t := w.text("caption")) and t,
        240,
        "no rank correlation in the caption",
    )
    assert "randomized" in caption
    w.screenshot("faithfulness-sanity")
    with_sanity = lecture_screen(w, out)
    record(
        "test_faithfulness",
        {
            "numbers_and_chart_after_first_picture_s": shown_s,
            "method_change_ms": method.latency_ms,
            "numbers_after_new_picture_s": numbers_s,
            "score_all_methods_s": table_s,
            "methods_scored": len(rows),
            "size_px_shown": shown,
            "size_px_with_table": with_table,
            "size_px_with_sanity": with_sanity,
        },
    )
