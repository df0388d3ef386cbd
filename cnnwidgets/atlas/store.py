"""The atlas on disk: where each file lives, atomic writes, fingerprints, resume bookkeeping.

Layout of an atlas directory ``OUT``::

    atlas.json                      the index, written last: model, layers and channels,
                                    settings, package versions, data fingerprint, counts
    layers/<layer>/spectrum.pt      the layer's merged ActivationSpectrum.state_dict()
                                    (loads with torch.load(weights_only=True))
    layers/<layer>/<c>/positive.png     positive feature visualization
    layers/<layer>/<c>/negative.png     negative one (of the pre-activation layer)
    layers/<layer>/<c>/examples.png     the example crops: one row per column (min,
                                        slightly negative, slightly positive, max), k tiles
    layers/<layer>/<c>/examples.json    values, image ids, positions, boxes of those crops
    layers/<layer>/<c>/connections.json strongest inputs from the previous atlas layer
    build/                          resume bookkeeping, removed when the build completes:
      plan.json                     what is being built (checked against a resumed run)
      ranges/chunk-<i>.pt           range pass: per data chunk, each channel's max and min
      examples/seg-<a>-<b>.pt       examples pass: trackers after data chunks a..b-1
      cache/<index>.png             images of streamed sources needed for connections

Every file is written to a temporary name in its folder and renamed into place with
``os.replace``: a killed build leaves at most a ``.*.tmp-*`` file, which no reader opens and
the next run removes. Only ``atlas.json`` says that a build finished.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import AtlasMismatchError, DiskFullError

FORMAT = 1
INDEX = "atlas.json"
_TMP = re.compile(r"^\..+\.tmp-[0-9a-f]+$")
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


# ---- atomic writes ----------------------------------------------------------------------------
def _disk_full(path: Path, exc: OSError) -> DiskFullError:
    try:
        free = shutil.disk_usage(path.parent).free
        left = f"{free / 2**20:.1f} MiB left there"
    except OSError:
        left = "free space unknown"
    return DiskFullError(
        exc.errno,
        f"the disk is full: could not write {str(path)!r} ({left}; {exc.strerror or exc}). "
        "Free some space (or choose another output directory) and run the same build again: "
        "finished work is kept.",
    )


def write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + ``os.replace``).

    ``durable`` also fsyncs before the rename, for the few files a resumed run trusts
    (checkpoints, the index); pictures skip it, since a lost picture is simply redone.
    A full disk raises :class:`DiskFullError` naming the path, with the temp file removed.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        if exc.errno in _FULL:
            raise _disk_full(path, exc) from exc
        raise
    return path


def write_json(path, obj: Any, *, durable: bool = True) -> Path:
    return write_bytes(path, json.dumps(obj, indent=1, sort_keys=False).encode(), durable=durable)


def read_json(path) -> Any:
    with open(path, "rb") as f:
        return json.load(f)


def write_torch(path, obj: Any) -> Path:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_bytes(path, buf.getvalue(), durable=True)


def canonical_spectrum_state(state: dict) -> dict:
    """The tracker state with every column's crops stored in rank order (slot r holds the
    crop of the rank-r example). A tracker keeps crops where they landed and only permutes
    ``slot``, so merging the same examples in another order leaves them elsewhere; this
    makes equal trackers give equal files (a 2-rank build's state equals a 1-process one's).
    States of another layout are returned as they are."""
    out = dict(state)
    columns = {}
    for name, col in state.get("columns", {}).items():
        if not {"slot", "crop"} <= set(col) or col["crop"].ndim < 2:
            return state
        slot = col["slot"]
        idx = slot.reshape(*slot.shape, *([1] * (col["crop"].ndim - 2))).expand_as(col["crop"])
        columns[name] = {
            **col,
            "crop": col["crop"].gather(1, idx),
            "slot": torch.arange(slot.shape[1]).repeat(slot.shape[0], 1),
        }
    out["columns"] = columns
    return out


def read_torch(path) -> Any:
    # weights_only: these files hold tensors and plain containers only, and a directory
    # someone handed over must not run code on load.
    return torch.load(path, map_location="cpu", weights_only=True)


def remove_temporaries(root: Path) -> int:
    """Delete temp files left by a killed run; returns how many."""
    n = 0
    if not root.is_dir():
        return 0
    for p in root.rglob(".*.tmp-*"):
        if p.is_file() and _TMP.match(p.name):
            p.unlink(missing_ok=True)
            n += 1
    return n


# ---- plain values -----------------------------------------------------------------------------
def plain_id(value: Any) -> int | str:
    """An image id as an int or str: what JSON, ``weights_only`` loading and HTML all take."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value if isinstance(value, str) else str(value)


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def model_fingerprint(model) -> str:
    """Hash of what decides the model's outputs: its class, preprocessing and every parameter
    and buffer (names, shapes, dtypes, values). Random weights differ run to run, so a
    resumed build of a freshly initialised model is caught here."""
    h = hashlib.sha256()
    module = model.module
    h.update(
        json.dumps(
            [
                type(module).__module__,
                type(module).__qualname__,
                list(model.input_size),
                model.mean,
                model.std,
                int(model.resize_size),
                model.in_channels,
            ]
        ).encode()
    )
    with torch.no_grad():
        for name, t in module.state_dict().items():
            h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
            # contiguous(): a channels-last copy of the same weights hashes the same
            data = t.detach().to("cpu").contiguous().reshape(-1)
            if data.numel():
                h.update(
                    data.view(torch.uint8).numpy().tobytes()
                    if data.dtype != torch.bool
                    else data.numpy().tobytes()
                )
    return h.hexdigest()


# ---- layout -----------------------------------------------------------------------------------
class Layout:
    """Paths inside an atlas directory."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()

    @property
    def index(self) -> Path:
        return self.root / INDEX

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def plan(self) -> Path:
        return self.build / "plan.json"

    def layer_dir(self, layer: str) -> Path:
        # Module names are dotted identifiers; anything else is made safe for a file name.
        return self.root / "layers" / safe_name(layer)

    def spectrum(self, layer: str) -> Path:
        return self.layer_dir(layer) / "spectrum.pt"

    def channel_dir(self, layer: str, c: int) -> Path:
        return self.layer_dir(layer) / str(int(c))

    def ranges_chunk(self, i: int) -> Path:
        return self.build / "ranges" / f"chunk-{i:07d}.pt"

    def segment(self, a: int, b: int) -> Path:
        return self.build / "examples" / f"seg-{a:07d}-{b:07d}.pt"

    def segments(self) -> dict[int, list[int]]:
        """start -> sorted ends of the examples-pass segments on disk."""
        out: dict[int, list[int]] = {}
        folder = self.build / "examples"
        if not folder.is_dir():
            return out
        for p in folder.glob("seg-*-*.pt"):
            m = re.fullmatch(r"seg-(\d+)-(\d+)\.pt", p.name)
            if m:
                out.setdefault(int(m.group(1)), []).append(int(m.group(2)))
        return {a: sorted(ends) for a, ends in out.items()}

    def cached_image(self, index: int) -> Path:
        return self.build / "cache" / f"{index}.png"


def safe_name(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return s if s not in ("", ".", "..") else f"_{s}"


# ---- plans ------------------------------------------------------------------------------------
def compare_plans(old: dict, new: dict, root: Path) -> None:
    """Raise :class:`AtlasMismatchError` when ``old`` (on disk) is another build than ``new``."""
    diffs = []
    if old.get("format") != new.get("format"):
        diffs.append(f"format {old.get('format')} vs {new.get('format')}")
    om, nm = old.get("model", {}), new.get("model", {})
    if om.get("fingerprint") != nm.get("fingerprint"):
        what = "weights" if om.get("name") == nm.get("name") else "model"
        diffs.append(
            f"{what}: {om.get('name')!r} ({str(om.get('fingerprint'))[:12]}) there, "
            f"{nm.get('name')!r} ({str(nm.get('fingerprint'))[:12]}) now"
        )
    ol = [(x["name"], x["channels"]) for x in old.get("layers", [])]
    nl = [(x["name"], x["channels"]) for x in new.get("layers", [])]
    if [n for n, _ in ol] != [n for n, _ in nl]:
        diffs.append(f"layers: {[n for n, _ in ol]} there, {[n for n, _ in nl]} now")
    elif ol != nl:
        diffs.append("channels differ")
    od, nd = old.get("data", {}), new.get("data", {})
    if od.get("fingerprint") != nd.get("fingerprint"):
        diffs.append(
            f"data: {od.get('description')!r} there, {nd.get('description')!r} now"
            + (
                " (same source, but its files changed)"
                if od.get("description") == nd.get("description")
                else ""
            )
        )
    os_, ns = old.get("settings", {}), new.get("settings", {})
    for key in sorted(set(os_) | set(ns)):
        if os_.get(key) != ns.get(key):
            diffs.append(f"{key}: {os_.get(key)!r} there, {ns.get(key)!r} now")
    if diffs:
        raise AtlasMismatchError(
            f"{str(root)!r} already holds an atlas (or a started build) of something else: "
            + "; ".join(diffs)
            + ". Use another directory, or start over there with "
            "resume=False (CLI: --no-resume), which deletes that atlas."
        )


def remove_atlas_files(layout: Layout) -> None:
    """Delete what a build writes (and only that): the index, layers/ and build/."""
    layout.index.unlink(missing_ok=True)
    for sub in ("layers", "build"):
        p = layout.root / sub
        if p.is_dir():
            shutil.rmtree(p)
