"""Run the lecture notebooks and write them as static HTML pages that work offline.

    python docs/build_static.py                     # every lecture notebook -> build/static/
    python docs/build_static.py --fast              # the same with CNNW_FAST=1 (short loops)
    python docs/build_static.py my.ipynb --out DIR  # any notebooks

Every cnnwidgets widget writes, beside its live view, a static picture of what it shows (see
``CNNWidget._ipython_display_``). A page here keeps that picture and drops the live view: an
HTML export would otherwise load the widget manager from a CDN (blank widgets offline) and
show a text repr in its place. The page loads no script at all: nbconvert's lab template
without require.js, MathJax, Mermaid and the widget manager, which all come from CDNs (so
LaTeX in Markdown cells stays as written). Pictures are data URIs; the page is one file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
LECTURES = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATIC_MARK = "data-cnnw-static="

# nbconvert's lab page, less every block that loads a script from the network.
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _has_static_picture(output: dict) -> bool:
    html = output.get("data", {}).get("text/html", "")
    return STATIC_MARK in ("".join(html) if isinstance(html, list) else html)


def keep_pictures(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the live widget views (and the saved widget state) in favour of the pictures.

    An output that showed a widget keeps whatever else it holds, unless that is only a text
    repr of a widget whose picture the cell shows anyway.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        pictured = any(_has_static_picture(o) for o in cell.get("outputs", []))
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                if pictured and set(data) <= {"text/plain"}:
                    continue
            kept.append(out)
        cell.outputs = kept
    nb.metadata.pop("widgets", None)
    return nb


def execute(path: Path, fast: bool, timeout: int) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    if fast:
        env["CNNW_FAST"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def to_html(nb: nbformat.NotebookNode) -> str:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"cnnw_offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="cnnw_offline.html.j2",
    )
    html, _ = exporter.from_notebook_node(keep_pictures(nb))
    return html


def build(paths: list[Path], out: Path, fast: bool = False, timeout: int = 1800) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = execute(path, fast=fast, timeout=timeout)
        target = out / f"{path.stem}.html"
        tmp = target.with_suffix(".html.tmp")
        tmp.write_text(to_html(nb), encoding="utf-8")
        os.replace(tmp, target)  # a killed build never leaves half a page
        written.append(target)
        print(f"{path.name} -> {target}", flush=True)  # noqa: T201 - a script's progress
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="default: the four lecture notebooks")
    p.add_argument("--out", type=Path, default=REPO / "build" / "static", help="output folder")
    p.add_argument("--fast", action="store_true", help="CNNW_FAST=1: the notebooks' short loops")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = p.parse_args(argv)
    build(args.notebooks or LECTURES, args.out, fast=args.fast, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
