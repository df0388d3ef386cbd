"""The committed front-end bundle is exactly what the TypeScript sources build to."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "js"
STATIC = ROOT / "cnnwidgets" / "static"


def _npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed, so the bundle cannot be rebuilt here")
    return npm


def test_bundle_matches_sources(tmp_path):
    npm = _npm()
    if not (JS / "node_modules" / ".bin" / "esbuild").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            check=True,
            capture_output=True,
            timeout=600,
        )
    # Build into a temporary folder: the checkout's bundle stays as it is while we compare.
    fresh = tmp_path / "static"
    subprocess.run(
        [npm, "run", "build", "--", "--outdir", str(fresh)],
        cwd=JS,
        check=True,
        capture_output=True,
        timeout=300,
    )
    cmp = filecmp.dircmp(STATIC, fresh)
    differ = sorted(cmp.diff_files + cmp.left_only + cmp.right_only)
    assert not differ, (
        f"cnnwidgets/static differs from a fresh build of js/ in {differ}: "
        "run `npm run build` in js/ and commit cnnwidgets/static"
    )


def test_every_widget_entry_is_bundled():
    entries = {p.stem for p in (JS / "src" / "widgets").glob("*.ts")}
    built = {p.stem for p in STATIC.glob("*.js")}
    assert entries <= built, f"not built: {sorted(entries - built)}"
    assert (STATIC / "widgets.css").is_file()
    for name in entries:
        text = (STATIC / f"{name}.js").read_text()
        assert "export {" in text and "as default" in text, f"{name}.js has no default export"
        assert str(ROOT) not in text, f"{name}.js contains an absolute path"
