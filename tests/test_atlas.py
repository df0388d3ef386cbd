"""The atlas: every result checked against an independent computation (a plain tracker over
the same images, autograd on the bare module, a re-render), a resumed build against an
uninterrupted one, and bad input against clear errors that leave nothing behind.

Subprocess tests (SIGKILL, CLI) and the slow ones (torchrun, Chromium) import the package of
this checkout through PYTHONPATH, and a tiny model from a module written here.
"""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import cnnwidgets as cw
from cnnwidgets.atlas import (
    AtlasIncompleteError,
    AtlasMismatchError,
    DiskFullError,
    EmptyDataError,
)
from cnnwidgets.atlas.renders import unit_seed
from cnnwidgets.render import to_png

# A conv net small enough that a build takes seconds. Channel 5 of conv1 is dead (all zero):
# every image ties there, so the examples test the tie-breaking across splits too.
MODEL_SRC = textwrap.dedent("""
    import torch
    import cnnwidgets as cw


    def make(seed=0):
        torch.manual_seed(seed)
        m = torch.nn.Sequential()
        m.add_module("conv1", torch.nn.Conv2d(3, 6, 3, padding=1))
        m.add_module("relu1", torch.nn.ReLU())
        m.add_module("conv2", torch.nn.Conv2d(6, 8, 3, padding=1, stride=2))
        m.add_module("relu2", torch.nn.ReLU())
        m.add_module("pool", torch.nn.AdaptiveAvgPool2d(1))
        m.add_module("flatten", torch.nn.Flatten())
        m.add_module("fc", torch.nn.Linear(8, 3))
        with torch.no_grad():
            m.conv1.weight[5] = 0
            m.conv1.bias[5] = 0
        return cw.load_model(m, input_size=32, labels=["a", "b", "c"], device="cpu")
""")

BUILD = dict(
    layers=["relu1", "relu2"],
    channels=[0, 1, 2, 5],
    k=3,
    steps=4,
    size=32,
    batch_size=3,
    chunk_size=4,
    progress=False,
    checkpoint_interval=0,
)
CLI_ARGS = [
    "--layers",
    "relu1,relu2",
    "--channels",
    "0-2,5",
    "--k",
    "3",
    "--steps",
    "4",
    "--size",
    "32",
    "--batch-size",
    "3",
    "--chunk-size",
    "4",
    "--quiet",
]
REPO = Path(cw.__file__).resolve().parent.parent  # this checkout, for subprocesses


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("atlas_model")
    (d / "atlas_tiny.py").write_text(MODEL_SRC)
    sys.path.insert(0, str(d))
    yield d
    sys.path.remove(str(d))
    sys.modules.pop("atlas_tiny", None)


@pytest.fixture(scope="module")
def tiny(model_dir):
    return importlib.import_module("atlas_tiny")


@pytest.fixture(scope="module")
def model(tiny):
    return tiny.make()


def _random_images(n: int, seed: int, side: int = 40) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 256, (side, side + 4 * (i % 3), 3), dtype=np.uint8))
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def images_dir(tmp_path_factory):
    """11 readable images in a folder tree (one an exact copy of another) and 2 broken files."""
    d = tmp_path_factory.mktemp("atlas_images")
    (d / "sub" / "deeper").mkdir(parents=True)
    for i, im in enumerate(_random_images(10, 0)):
        where = ["", "sub/", "sub/deeper/"][i % 3]
        im.save(d / f"{where}im{i}.png")
    shutil.copy(d / "sub" / "im1.png", d / "sub" / "im1_copy.png")  # exact ties
    (d / "broken.png").write_bytes(b"this is not a PNG")
    buf = io.BytesIO()
    _random_images(1, 9)[0].save(buf, format="JPEG")
    (d / "sub" / "truncated.jpg").write_bytes(buf.getvalue()[:200])
    return d


def _readable(images_dir: Path) -> list[tuple[str, Image.Image]]:
    """(relative path, image) of the readable files, in the order a folder source reads them."""
    out = []
    for p in cw.datasets.image_folder(images_dir).files:
        try:
            out.append((p.relative_to(images_dir).as_posix(), cw.load_image(p)))
        except cw.ImageLoadError:
            pass
    return out


@pytest.fixture(scope="module")
def reference(model, images_dir, tmp_path_factory):
    """One uninterrupted single-process build: what the other tests compare against."""
    out = tmp_path_factory.mktemp("atlas_ref") / "atlas"
    return cw.build_atlas(model, out, data=images_dir, **BUILD)


def _env(model_dir: Path, **extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(model_dir)])
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def assert_same_atlas(a, b, states: bool = True) -> None:
    """Pictures byte for byte, examples bit for bit, connections, tracker states."""
    assert a.layers == b.layers
    for layer in a.layers:
        assert a.channels(layer) == b.channels(layer)
        if states:
            sa, sb = a.spectrum_state(layer), b.spectrum_state(layer)
            assert sa["ids"] == sb["ids"] and sa["config"] == sb["config"]
            for col in sa["columns"]:
                for key, t in sa["columns"][col].items():
                    assert torch.equal(t, sb["columns"][col][key]), (layer, col, key)
        for c in a.channels(layer):
            x, y = a.channel(layer, c), b.channel(layer, c)
            assert x.positive_png == y.positive_png, (layer, c)
            assert x.negative_png == y.negative_png, (layer, c)
            for col, ex in x.examples.items():
                ey = y.examples[col]

                def fields(examples):
                    return [(e.value, e.image_id, e.index, e.position, e.box) for e in examples]

                assert fields(ex) == fields(ey), (layer, c, col)
                assert all(np.array_equal(p.crop, q.crop) for p, q in zip(ex, ey))
            assert x.connections == y.connections, (layer, c)


# ---- results against independent references -------------------------------------------------
def test_examples_equal_a_plain_tracker_over_the_same_images(reference, model, images_dir):
    """Two passes with fixed targets from the true range = one ActivationSpectrum over all the
    images at once, with targets from a brute-force max over cw.feature_maps."""
    items = _readable(images_dir)
    assert reference.data["images"] == len(items) == 11 and reference.data["skipped"] == 2
    assert {s["id"] for s in reference.data["skipped_items"]} == {"broken.png", "sub/truncated.jpg"}
    for layer in reference.layers:
        scan = reference.scanned_layer(layer)
        assert scan == {"relu1": "conv1", "relu2": "conv2"}[layer]  # pre-activation
        chans = reference.channels(layer)
        maps = np.stack([cw.feature_maps(model, im, scan) for _, im in items])[:, chans]
        top, bottom = maps.max(axis=(0, 2, 3)), maps.min(axis=(0, 2, 3))
        targets = {
            "positive": np.where(top > 0, 0.1 * top, 1.0).tolist(),
            "negative": np.where(bottom < 0, 0.1 * bottom, -1.0).tolist(),
        }
        plain = cw.ActivationSpectrum(model, scan, chans, k=3, targets=targets)
        plain.update([im for _, im in items], ids=[name for name, _ in items])
        for c in chans:
            want, got = plain.examples(c), reference.channel(layer, c).examples
            for col in want:
                assert [e.image_id for e in got[col]] == [e.image_id for e in want[col]], (
                    layer,
                    c,
                    col,
                )
                np.testing.assert_allclose(
                    [e.value for e in got[col]], [e.value for e in want[col]], rtol=1e-5, atol=1e-6
                )
                assert [e.position for e in got[col]] == [e.position for e in want[col]]
                for e, w in zip(got[col], want[col]):
                    assert np.abs(e.crop.astype(int) - w.crop.astype(int)).max() <= 1
    dead = reference.channel("relu1", 5).examples  # all zero: ties in stream order
    first = [name for name, _ in items[:3]]
    assert [e.image_id for e in dead["max"]] == first == [e.image_id for e in dead["min"]]
    assert dead["slightly_positive"] == [] and dead["slightly_negative"] == []


def test_connections_equal_autograd_on_the_bare_module(reference, model, images_dir):
    by_id = dict(_readable(images_dir))
    net = model.module
    assert reference.channel("relu1", 0).connections == []  # first layer: no inputs
    for c in reference.channels("relu2"):
        ex = reference.channel("relu2", c).examples["max"]
        x = model.preprocess([by_id[e.image_id] for e in ex])
        h = net.relu1(net.conv1(x)).detach().requires_grad_(True)
        out = net.conv2(h)
        a = sum(out[n, c, e.position[0], e.position[1]] for n, e in enumerate(ex))
        (g,) = torch.autograd.grad(a, h)
        w = (h * g).sum((2, 3)).mean(0).double().detach()
        ranked = sorted([0, 1, 2, 5], key=lambda j: -abs(float(w[j])))
        want = [(j, float(w[j])) for j in ranked if float(w[j]) != 0][:3]
        got = reference.channel("relu2", c).connections
        assert [x.channel for x in got] == [j for j, _ in want]
        np.testing.assert_allclose([x.weight for x in got], [v for _, v in want], rtol=1e-4)
        assert all(x.layer == "relu1" for x in got)
        assert 5 not in [x.channel for x in got]  # the dead channel gives 0


def test_renders_do_not_depend_on_the_split_and_match_the_stored_pngs(reference, model):
    units = [
        ("relu1", "conv1", 0),
        ("relu1", "conv1", 2),
        ("relu2", "conv2", 1),
        ("relu2", "conv2", 5),
    ]

    def render(layer, scan, c):
        return np.asarray(
            cw.visualize(
                model,
                [f"-{scan}:{c}", f"{layer}:{c}"],
                steps=4,
                size=32,
                seed=unit_seed(0, layer, c),
            )
        )

    one_way = [render(*u) for u in units]
    torch.manual_seed(123)  # other global RNG state, other order, two halves
    second = [render(*u) for u in units[2:][::-1]][::-1]
    first = [render(*u) for u in units[:2]]
    for a, b in zip(one_way, first + second):
        np.testing.assert_array_equal(a, b)
    for (layer, _, c), images in zip(units, one_way):
        ch = reference.channel(layer, c)
        assert ch.negative_png == to_png(images[0])
        assert ch.positive_png == to_png(images[1])
        np.testing.assert_allclose(ch.visualization, images[1], atol=0.5 / 255 + 1e-6)


def test_spectrum_state_loads_weights_only_and_rebuilds_the_examples(reference, model):
    for layer in reference.layers:
        state = torch.load(reference.layout.spectrum(layer), weights_only=True)
        fixed = state["config"]["fixed"]
        t = cw.ActivationSpectrum(
            model, reference.scanned_layer(layer), reference.channels(layer), k=3, targets=fixed
        ).load_state_dict(state)
        assert t.images_seen == 11
        for c in reference.channels(layer):
            got, want = reference.channel(layer, c).examples, t.examples(c)
            for col in want:
                assert [(e.value, e.image_id) for e in got[col]] == [
                    (w.value, w.image_id[1]) for w in want[col]
                ]
                assert all(np.array_equal(e.crop, w.crop) for e, w in zip(got[col], want[col]))


def test_load_atlas_gives_plain_data_for_a_viewer(reference):
    a = cw.load_atlas(reference.path)
    assert a.layers == ["relu1", "relu2"] and a.channels("relu2") == [0, 1, 2, 5]
    assert a.previous("relu2") == "relu1" and a.previous("relu1") is None
    with pytest.raises(cw.LayerNotFoundError, match="relu1"):
        a.channel("nope", 0)
    with pytest.raises(KeyError, match="0-2,5"):
        a.channel("relu1", 3)
    assert a.thumbnail("relu1", 0).startswith(b"\x89PNG")
    page = a.channel("relu2", 1).page()
    json.dumps({k: v for k, v in page.items() if k not in ("positive", "negative", "examples")})
    assert page["positive"].startswith(b"\x89PNG") and page["negative"].startswith(b"\x89PNG")
    assert set(page["examples"]) == {"min", "slightly_negative", "slightly_positive", "max"}
    assert all(e["png"].startswith(b"\x89PNG") for col in page["examples"].values() for e in col)
    ch = a.channel("relu2", 1)
    assert ch.visualization.shape == (32, 32, 3) and ch.visualization.dtype == np.float32
    assert len(ch.examples["max"]) == 3 and ch.examples["max"][0].crop.dtype == np.uint8
    idx = a.index
    assert idx["complete"] and idx["versions"]["torch"] == torch.__version__
    assert idx["model"]["input_size"] == [32, 32] and idx["data"]["kind"] == "folder"
    assert not (reference.path / "build").exists()
    fig = ch.figure()
    assert len(fig.axes) == 6 * 3


def test_a_build_leaves_the_model_as_found(lived_in_tiny_cnn, images_dir, tmp_path):
    from tests.conftest import assert_left_as_found

    model, before = lived_in_tiny_cnn
    cw.build_atlas(
        model,
        tmp_path / "a",
        ["relu1", "relu2"],
        data=images_dir,
        k=2,
        steps=2,
        size=16,
        progress=False,
    )
    assert_left_as_found(before, model)


# ---- resuming ----------------------------------------------------------------------------------
KILLER = textwrap.dedent("""
    import json, os, signal, sys
    import atlas_tiny, cnnwidgets as cw
    out, data, stage, after, log = sys.argv[1:6]

    def progress(event):
        with open(log, "a") as f:
            f.write(json.dumps(event) + "\\n")
        if event["stage"] == stage and event["done"] >= int(after):
            os.kill(os.getpid(), signal.SIGKILL)

    build = json.loads(os.environ["ATLAS_BUILD"])
    build["progress"] = progress
    cw.build_atlas(atlas_tiny.make(), out, data=data, **build)
""")


def test_a_killed_build_resumes_without_redoing_finished_work(
    reference, model, model_dir, images_dir, tmp_path
):
    out = tmp_path / "atlas"
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    build = {k: v for k, v in BUILD.items() if k != "progress"}
    env = _env(model_dir, ATLAS_BUILD=json.dumps(build))
    # 1. SIGKILL in the middle of the examples pass (chunk 0 of 4 images done, chunk 1 begun)
    log1 = tmp_path / "log1.jsonl"
    r = subprocess.run(
        [sys.executable, str(script), str(out), str(images_dir), "examples", "5", str(log1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr
    segments = sorted(p.name for p in (out / "build" / "examples").iterdir())
    assert segments == ["seg-0000000-0000001.pt"]
    ranges = {p.name: p.stat().st_mtime_ns for p in (out / "build" / "ranges").iterdir()}
    assert len(ranges) == 4
    with pytest.raises(AtlasIncompleteError, match="run the same build again"):
        cw.load_atlas(out)
    # 2. Ctrl-C after 3 renders (a KeyboardInterrupt from inside the build)
    events = []

    def interrupt(event):
        events.append(event)
        if event["stage"] == "renders" and event["done"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cw.build_atlas(model, out, data=images_dir, **{**BUILD, "progress": interrupt})
    scanned = [e for e in events if e["stage"] == "examples"]
    assert scanned[-1]["total"] == 13 - 4  # chunk 0 was not scanned again
    assert {p.name: p.stat().st_mtime_ns for p in (out / "build" / "ranges").iterdir()} == ranges
    assert [p.name for p in (out / "build" / "examples").iterdir()] == ["seg-0000000-0000004.pt"]
    # 3. finish: only what is left
    (out / "layers" / "relu1" / "0" / ".positive.png.tmp-0badc0de").write_bytes(b"half")
    done = cw.build_atlas(model, out, data=images_dir, **BUILD)
    r = done.report
    assert (r["ranges_scanned"], r["ranges_reused"]) == (0, 4)
    assert (r["examples_scanned"], r["examples_reused"]) == (0, 4)
    assert (r["renders"], r["renders_reused"]) == (8 - 3, 3)
    assert (r["connections_computed"], r["connections_reused"]) == (0, 4)
    assert not list(out.rglob(".*.tmp-*"))
    assert_same_atlas(done, reference)
    # 4. once complete, the same call does nothing
    again = cw.build_atlas(model, out, data=images_dir, **BUILD)
    assert again.report is None


def test_another_build_in_the_same_directory_is_an_error(reference, tiny, images_dir, tmp_path):
    out = tmp_path / "atlas"
    shutil.copytree(reference.path, out)
    other_data = tmp_path / "other"
    other_data.mkdir()
    for i, im in enumerate(_random_images(3, 7)):
        im.save(other_data / f"x{i}.png")
    cases = [
        ({"layers": ["relu1"]}, "layers"),
        ({"channels": [0, 1]}, "channels differ"),
        ({"k": 4}, "k: 3 there, 4 now"),
        ({"data": other_data}, "data: "),
        ({"model": tiny.make(seed=1)}, "weights"),
    ]
    for change, message in cases:
        args = {**BUILD, "data": images_dir, "model": tiny.make()}
        args.update(change)
        m = args.pop("model")
        with pytest.raises(AtlasMismatchError, match=message):
            cw.build_atlas(m, out, **args)
    # a started, unfinished build is protected just the same
    index = json.loads((out / "atlas.json").read_text())
    (out / "build").mkdir()
    (out / "build" / "plan.json").write_text(json.dumps(index["plan"]))
    (out / "atlas.json").unlink()
    with pytest.raises(AtlasMismatchError, match="layers"):
        cw.build_atlas(tiny.make(), out, **{**BUILD, "layers": ["relu2"], "data": images_dir})
    # ... unless asked to start over
    fresh = cw.build_atlas(
        tiny.make(),
        out,
        **{**BUILD, "layers": ["relu2"], "steps": 0, "data": images_dir, "resume": False},
    )
    assert fresh.layers == ["relu2"] and not (out / "layers" / "relu1").exists()


# ---- bad input -----------------------------------------------------------------------------------
def test_bad_requests_fail_before_anything_is_written(model, images_dir, tmp_path):
    out = tmp_path / "atlas"
    with pytest.raises(cw.LayerNotFoundError, match="no layer 'relu9'.*relu1"):
        cw.build_atlas(model, out, ["relu1", "relu9"], data=images_dir, progress=False)
    with pytest.raises(ValueError, match=r"6 channels \(0..5\); channel\(s\) 6, 40"):
        cw.build_atlas(model, out, ["relu1"], channels=[0, 6, 40], data=images_dir)
    with pytest.raises(ValueError, match="output shape"):
        cw.build_atlas(model, out, ["fc"], data=images_dir)
    with pytest.raises(ValueError, match="data= is required"):
        cw.build_atlas(model, out, ["relu1"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptyDataError, match="no image files"):
        cw.build_atlas(model, out, ["relu1"], data=empty)
    with pytest.raises(EmptyDataError):
        cw.build_atlas(model, out, ["relu1"], data=[])
    assert not out.exists()
    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(3):
        (junk / f"bad{i}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(EmptyDataError, match="no readable image: 3 item"):
        cw.build_atlas(model, out, ["relu1"], data=junk, progress=False)
    assert not out.exists()  # the started build is removed again


def test_a_full_disk_is_a_clear_error_and_the_build_resumes(
    reference, model, images_dir, tmp_path, monkeypatch
):
    out = tmp_path / "atlas"
    real_replace = os.replace
    calls = {"n": 0}

    def full(src, dst):
        if str(dst).endswith("positive.png"):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(DiskFullError, match=r"disk is full: could not write .*positive\.png"):
        cw.build_atlas(model, out, data=images_dir, **BUILD)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not list(out.rglob(".*.tmp-*")) and not (out / "atlas.json").exists()
    done = cw.build_atlas(model, out, data=images_dir, **BUILD)
    assert done.report["renders"] == 6 and done.report["renders_reused"] == 2
    assert_same_atlas(done, reference)


# ---- data sources -------------------------------------------------------------------------------
def _small(**kw):
    return {**BUILD, "layers": ["relu2"], "channels": [0, 3], "steps": 0, **kw}


def test_shards_lists_and_iterables_give_the_same_examples(model, tmp_path, monkeypatch):
    wds = pytest.importorskip("webdataset")
    images = _random_images(7, 3)
    pngs = []
    for im in images:
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        pngs.append(buf.getvalue())
    shards = tmp_path / "shards"
    shards.mkdir()
    with wds.ShardWriter(str(shards / "part-%06d.tar"), maxcount=4, verbose=0) as sink:
        for i, data in enumerate(pngs):
            sink.write({"__key__": f"s{i}", "png": data})
            if i == 2:
                sink.write({"__key__": "junk", "png": b"not a png"})
                sink.write({"__key__": "noimage", "txt": b"hello"})
    from_shards = cw.build_atlas(model, tmp_path / "a", data=shards, **_small())
    assert from_shards.data["kind"] == "webdataset" and from_shards.data["chunks"] == 3
    assert (from_shards.data["images"], from_shards.data["skipped"]) == (7, 2)
    pairs = [(im, f"s{i}") for i, im in enumerate(images)]

    class Reiterable:
        def __iter__(self):
            return iter(pairs)

    others = {
        "list": pairs,
        "iterable": Reiterable(),
        "function": lambda: iter(pairs),
        "dicts": [{"image": im, "id": i} for im, i in pairs],
    }
    for name, data in others.items():
        # chunks of 3 readable images: the same batches as the shards, so the same floats
        b = cw.build_atlas(model, tmp_path / name, data=data, **_small(chunk_size=3))
        assert b.data["images"] == 7 and b.data["skipped"] == 0, name
        for c in (0, 3):
            xa, xb = from_shards.channel("relu2", c).examples, b.channel("relu2", c).examples
            for col in xa:
                assert [e.image_id.split("/")[-1] for e in xa[col]] == [
                    e.image_id for e in xb[col]
                ], (name, col)
                assert [e.value for e in xa[col]] == [e.value for e in xb[col]]
                assert all(np.array_equal(p.crop, q.crop) for p, q in zip(xa[col], xb[col]))
    with pytest.raises(TypeError, match="one-shot"):
        cw.build_atlas(model, tmp_path / "g", data=(p for p in pairs), **_small())
    with pytest.raises(TypeError, match="dataset"):
        cw.build_atlas(model, tmp_path / "g", data=torch.utils.data.DataLoader(pairs), **_small())
    monkeypatch.setitem(sys.modules, "webdataset", None)
    with pytest.raises(ImportError, match="pip install webdataset"):
        cw.build_atlas(model, tmp_path / "g", data=shards, **_small())
    assert not (tmp_path / "g").exists()


def test_imagenette_through_torchvision_names_examples_by_file(model, tmp_path):
    """ImageNette's own folder layout (no download here): ids are the files' relative paths."""
    from cnnwidgets.atlas.sources import as_source, imagenette_source

    root = tmp_path / "imagenette"
    for wnid, names in (("n01440764", ["a", "b"]), ("n02102040", ["c", "d"])):
        folder = root / "imagenette2-160" / "val" / wnid
        folder.mkdir(parents=True)
        for name, im in zip(names, _random_images(2, ord(names[0])), strict=True):
            im.save(folder / f"{name}.JPEG")
    (root / "imagenette2-160" / "val" / "n02102040" / "e.JPEG").write_bytes(b"broken")
    ds = cw.datasets.imagenette(root=root, split="val", size="160px", download=False)
    a = cw.build_atlas(model, tmp_path / "a", data=ds, **_small(k=5))
    assert (a.data["images"], a.data["skipped"]) == (4, 1)
    assert a.data["skipped_items"][0]["id"] == "n02102040/e.JPEG"
    assert sorted(e.image_id for e in a.channel("relu2", 0).examples["max"]) == [
        "n01440764/a.JPEG",
        "n01440764/b.JPEG",
        "n02102040/c.JPEG",
        "n02102040/d.JPEG",
    ]
    src = imagenette_source("imagenette:val:160px", 4, root=root)
    assert src.kind == "imagenette" and src.n == 5 and "ImageNette val 160px" in src.description
    with pytest.raises(FileNotFoundError, match="no data folder"):
        as_source(str(tmp_path / "nowhere"))


def test_progress_reports_every_stage(model, images_dir, tmp_path, capsys):
    events = []
    cw.build_atlas(model, tmp_path / "a", data=images_dir, **_small(progress=events.append))
    stages = [e["stage"] for e in events]
    assert sorted(set(stages), key=stages.index) == ["ranges", "examples", "renders"]
    for stage in set(stages):
        last = [e for e in events if e["stage"] == stage][-1]
        assert last["done"] == last["total"], stage
    assert [e for e in events if e["stage"] == "examples"][-1]["total"] == 13
    cw.build_atlas(model, tmp_path / "b", data=images_dir, **_small(progress=True))
    err = capsys.readouterr().err
    assert "img/s" in err and "scan 2/2: dataset examples" in err and "13/13" in err


# ---- command line -------------------------------------------------------------------------------
def test_command_line(model_dir, images_dir, tmp_path):
    out = tmp_path / "atlas"
    cmd = [
        sys.executable,
        "-m",
        "cnnwidgets.atlas",
        "atlas_tiny:make",
        str(out),
        "--data",
        str(images_dir),
    ]
    r = subprocess.run(
        cmd + CLI_ARGS + ["--steps", "0", "--html"],
        env=_env(model_dir),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "8 channels of 2 layers, 11 images (2 skipped)" in r.stdout
    assert (out / "html" / "index.html").exists()
    assert cw.load_atlas(out).channels("relu1") == [0, 1, 2, 5]


def test_command_line_errors_are_one_readable_line(model_dir, images_dir, tmp_path, capsys):
    from cnnwidgets.atlas.__main__ import main

    code = main(
        [
            "atlas_tiny:make",
            str(tmp_path / "x"),
            "--data",
            str(images_dir),
            "--layers",
            "relu1,relu7",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: no layer 'relu7'") and "relu2" in err
    assert not (tmp_path / "x").exists()
    code = main(
        [
            "atlas_tiny:make",
            str(tmp_path / "x"),
            "--data",
            str(tmp_path / "nowhere"),
            "--layers",
            "relu1",
        ]
    )
    assert code == 2 and "no data folder" in capsys.readouterr().err


# ---- scale-out and the static site (slow) --------------------------------------------------------
@pytest.mark.slow
def test_two_torchrun_ranks_build_the_same_atlas_as_one_process(
    reference, model_dir, images_dir, tmp_path
):
    """Also across a change of split: a 1-process build killed after its first data chunk is
    finished by 2 ranks, which reuse that chunk (it begins rank 0's block)."""
    out = tmp_path / "atlas"
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    build = {k: v for k, v in BUILD.items() if k != "progress"}
    env = _env(model_dir, ATLAS_BUILD=json.dumps(build))
    r = subprocess.run(
        [
            sys.executable,
            str(script),
            str(out),
            str(images_dir),
            "examples",
            "5",
            str(tmp_path / "log.jsonl"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "cnnwidgets.atlas",
        "atlas_tiny:make",
        str(out),
        "--data",
        str(images_dir),
    ] + CLI_ARGS
    r = subprocess.run(
        cmd, env=_env(model_dir), capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout + r.stderr
    two = cw.load_atlas(out)
    assert two.index["build"]["world_size"] == 2
    work = two.index["build"]["work"]
    assert work["renders"] == 8 and work["ranges_reused"] == 4 and work["ranges_scanned"] == 0
    assert (work["examples_reused"], work["examples_scanned"]) == (1, 3)
    assert_same_atlas(two, reference)


@pytest.mark.slow
def test_the_static_site_works_offline_in_chromium(reference, tmp_path, browser):
    index = reference.export_html(tmp_path / "site")
    page = browser.new_page()
    try:
        requests = []
        page.on("request", lambda req: requests.append(req.url))
        page.goto(index.as_uri())
        links = page.get_by_test_id("layer-link")
        assert links.all_inner_texts() == ["relu1", "relu2"]
        links.nth(1).click()
        grid = page.get_by_test_id("channel-link")
        assert grid.count() == 4
        assert [grid.nth(i).get_attribute("data-channel") for i in range(4)] == [
            "0",
            "1",
            "2",
            "5",
        ]
        page.locator('[data-testid="channel-link"][data-channel="2"]').click()
        assert page.get_by_test_id("channel-title").inner_text() == "relu2 : channel 2"
        columns = page.locator('[data-testid="figure"] [data-column]')
        assert [columns.nth(i).get_attribute("data-column") for i in range(6)] == [
            "negative_optimized",
            "min",
            "slightly_negative",
            "slightly_positive",
            "max",
            "positive_optimized",
        ]
        assert page.locator('[data-column="max"] .tile').count() == 3
        page.wait_for_load_state("load")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || "
            "i.naturalWidth === 0).map(i => i.src)"
        )
        assert broken == []
        first = reference.channel("relu2", 2).connections[0].channel
        page.get_by_test_id("connection-link").first.click()
        assert page.get_by_test_id("channel-title").inner_text() == f"relu1 : channel {first}"
        assert requests and all(u.startswith("file://") for u in requests)
    finally:
        page.close()
