"""The committed bundles use only what anywidget promises in every front end it runs in
(JupyterLab, Jupyter Notebook 7, VS Code, Colab): one ES module per widget whose default export
has ``render``, no module loader, no Jupyter-specific globals or packages, nothing fetched from
the network. See docs/frontends.md for what each check stands for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "cnnwidgets" / "static"
BUNDLES = sorted(STATIC.glob("*.js"))

# (what is wrong, a pattern that finds it)
FORBIDDEN = [
    (
        "a CommonJS/AMD loader (front ends load ES modules)",
        r"\brequire\s*\(|\bdefine\s*\(|requirejs",
    ),
    ("an import left in the bundle (it must be self-contained)", r"^\s*import\b|\bimport\s*\("),
    ("a Jupyter package", r"@jupyter|@jupyterlab|@lumino|@jupyter-widgets"),
    (
        "a host-specific global",
        r"\bIPython\b|\bJupyter\.|window\.jupyter|google\.colab|acquireVsCodeApi|\bkernel\.execute",
    ),
    ("an absolute URL (nothing may come from the network)", r"\b(?:https?|wss?):|//cdn\.|//unpkg"),
    ("a network request", r"\bfetch\s*\(|XMLHttpRequest|new\s+WebSocket|navigator\.sendBeacon"),
]


def test_there_are_bundles():
    assert len(BUNDLES) >= 10, BUNDLES


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name)
def test_bundle_is_a_self_contained_anywidget_module(path):
    text = path.read_text()
    for what, pattern in FORBIDDEN:
        m = re.search(pattern, text, flags=re.MULTILINE)
        assert m is None, f"{path.name} has {what}: {text[max(0, m.start() - 60) : m.end() + 60]!r}"
    # anywidget's contract: an ES module whose default export is an object with render().
    exports = re.findall(r"^export\s*\{([^}]*)\}", text, flags=re.MULTILINE)
    assert len(exports) == 1, f"{path.name}: expected one export statement, found {exports}"
    default = re.search(r"(\w+) as default\b", exports[0])
    assert default, f"{path.name} exports {exports[0]!r}, no default"
    assert re.search(rf"\bvar {default.group(1)}\s*=\s*\{{\s*render\b", text), (
        f"{path.name}: the default export is not {{ render, ... }}"
    )


def test_stylesheet_loads_nothing():
    css = (STATIC / "widgets.css").read_text()
    assert "@import" not in css
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css)
