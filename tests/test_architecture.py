"""Imports flow one way (docs/architecture.md): core <- data <- models <- engines; render uses
core and data only; widgets, integrations and the atlas sit on top. An import against that
order (at module level or inside a function) fails here, naming the file and the line."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cnnwidgets"

# part of cnnwidgets -> the parts it may import from
ALLOWED = {
    "allocator": set(),
    "core": {"core"},
    "data": {"core", "data"},
    "models": {"core", "data", "models"},
    "engines": {"core", "data", "models", "engines"},
    "render": {"core", "data", "render"},
    "widgets": {"core", "data", "models", "engines", "render", "atlas", "widgets"},
    "integrations": {"core", "data", "models", "engines", "render", "integrations"},
    "atlas": {"core", "data", "models", "engines", "render", "atlas"},
}


def _part(module: str) -> str:
    """``cnnwidgets.engines.cam`` -> ``engines``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every cnnwidgets module ``path`` imports, absolute, with its line number."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    here = list(rel.parts)
    if here[-1] == "__init__":
        here = here[:-1]
    else:
        here = here[:-1]  # the package that holds the module
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("cnnwidgets")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("cnnwidgets"):
                if _part(target) == "" and not node.module:
                    # "from . import data": each name is a part of the package
                    found += [(node.lineno, f"cnnwidgets.{a.name}") for a in node.names]
                else:
                    found.append((node.lineno, target))
    return found


def violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _part(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if own in ("", "__init__", "__main__"):
            continue  # the public namespace re-exports everything
        allowed = ALLOWED.get(own)
        assert allowed is not None, f"{path}: add the part {own!r} to ALLOWED and to the docs"
        for line, target in imports_of(path):
            part = _part(target)
            if not part:
                # `import cnnwidgets` inside a part reaches every layer through the namespace
                out.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} imports the whole "
                    "cnnwidgets namespace; import the part it needs"
                )
            elif part not in allowed:
                out.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} "
                    f"({own} may import from {', '.join(sorted(allowed)) or 'nothing'})"
                )
    return out


def test_imports_flow_one_way():
    bad = violations()
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_check_sees_relative_and_function_level_imports(tmp_path, monkeypatch):
    """The checker itself: a render module importing an engine inside a function is caught."""
    pkg = tmp_path / "cnnwidgets"
    (pkg / "render").mkdir(parents=True)
    (pkg / "engines").mkdir()
    (pkg / "render" / "bad.py").write_text("def f():\n    from ..engines import cam\n")
    (pkg / "render" / "good.py").write_text("from ..core.guard import preserved\n")
    (pkg / "render" / "sneaky.py").write_text("def g():\n    import cnnwidgets\n")
    monkeypatch.setitem(globals(), "PACKAGE", pkg)
    bad = violations()
    assert len(bad) == 2
    assert "render/bad.py:2 imports cnnwidgets.engines" in bad[0]
    assert "render/sneaky.py:2 imports the whole cnnwidgets namespace" in bad[1]
