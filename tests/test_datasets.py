"""Data sets: ImageNette from a tiny folder of its layout, image folders, sample crops, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import cnnwidgets as cw
from cnnwidgets.data.datasets import iter_batches, stream_length

WNIDS = ("n01440764", "n02102040", "n03888257")  # tench, English springer, parachute


def _write(path, seed, size=(20, 14)):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


@pytest.fixture()
def imagenette_root(tmp_path):
    """The layout torchvision's Imagenette reads: root/imagenette2-160/<split>/<wnid>/*.JPEG."""
    for split in ("train", "val"):
        for c, wnid in enumerate(WNIDS):
            for i in range(2):
                _write(
                    tmp_path / "imagenette2-160" / split / wnid / f"{wnid}_{i}.JPEG",
                    seed=100 * c + i + (0 if split == "val" else 50),
                )
    return tmp_path


def test_imagenette_reads_the_torchvision_layout(imagenette_root):
    ds = cw.datasets.imagenette(imagenette_root, split="val", size="160px", download=False)
    assert len(ds) == 6
    img, label = ds[3]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (20, 14)
    assert label == 1 and ds.classes[label][0] == "English springer"
    expected = np.asarray(
        Image.open(
            imagenette_root / "imagenette2-160" / "val" / WNIDS[1] / f"{WNIDS[1]}_1.JPEG"
        ).convert("RGB")
    )
    np.testing.assert_array_equal(np.asarray(img), expected)
    assert len(cw.datasets.imagenette(imagenette_root, "train", "160px", download=False)) == 6


def test_imagenette_missing_or_bad_arguments(tmp_path, imagenette_root):
    with pytest.raises(FileNotFoundError, match="sample_crops"):
        cw.datasets.imagenette(tmp_path / "nothing", download=False)
    with pytest.raises(FileNotFoundError):  # the 320px archive is not there
        cw.datasets.imagenette(imagenette_root, size="320px", download=False)
    with pytest.raises(ValueError, match="size"):
        cw.datasets.imagenette(imagenette_root, size="64px", download=False)
    with pytest.raises(ValueError, match="split"):
        cw.datasets.imagenette(imagenette_root, split="test", download=False)


def test_image_folder_finds_images_recursively(tmp_path):
    _write(tmp_path / "b.png", 1)
    _write(tmp_path / "sub" / "a.JPG", 2)
    _write(tmp_path / "sub" / "deeper" / "c.webp", 3)
    (tmp_path / "notes.txt").write_text("not an image")
    ds = cw.datasets.image_folder(tmp_path)
    assert len(ds) == 3
    assert [ds[i]["id"] for i in range(3)] == ["b.png", "sub/a.JPG", "sub/deeper/c.webp"]
    np.testing.assert_array_equal(
        np.asarray(ds[0]["image"]), np.asarray(Image.open(tmp_path / "b.png").convert("RGB"))
    )
    assert len(cw.datasets.image_folder(tmp_path, recursive=False)) == 1
    with pytest.raises(FileNotFoundError, match="no image files"):
        cw.datasets.image_folder(_empty(tmp_path))
    with pytest.raises(FileNotFoundError, match="no folder"):
        cw.datasets.image_folder(tmp_path / "missing")


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "readme.md").write_text("x")
    return d


def test_sample_crops_are_deterministic_and_varied():
    a = cw.datasets.sample_crops(6, size=32, seed=3)
    b = cw.datasets.sample_crops(6, size=32, seed=3)
    c = cw.datasets.sample_crops(6, size=32, seed=4)
    assert len(a) == 6
    items = [np.asarray(a[i]["image"]) for i in range(6)]
    assert all(im.shape == (32, 32, 3) and im.dtype == np.uint8 for im in items)
    # random access gives the same item as sequential access, and the same seed the same items
    np.testing.assert_array_equal(np.asarray(a[4]["image"]), np.asarray(b[4]["image"]))
    assert any(
        not np.array_equal(np.asarray(a[i]["image"]), np.asarray(c[i]["image"])) for i in range(6)
    )
    assert len({im.tobytes() for im in items}) == 6
    assert {a[i]["source"] for i in range(6)} <= set(cw.sample_names())
    with pytest.raises(IndexError):
        a[6]


def test_iter_batches_from_every_kind_of_source(tmp_path):
    x = torch.randn(7, 3, 8, 8)
    got = list(iter_batches(x, 3))
    assert [len(b) for b, _ in got] == [3, 3, 1] and torch.equal(torch.cat([b for b, _ in got]), x)

    loader = DataLoader(torch.utils.data.TensorDataset(x, torch.arange(7)), batch_size=4)
    got = list(iter_batches(loader, 100))  # a DataLoader keeps its own batches
    assert [len(b) for b, _ in got] == [4, 3] and torch.equal(got[0][0], x[:4])

    dicts = [{"image": np.zeros((4, 4, 3), np.uint8), "id": f"d{i}"} for i in range(5)]
    got = list(iter_batches(iter(dicts), 2))
    assert [ids for _, ids in got] == [["d0", "d1"], ["d2", "d3"], ["d4"]]

    pairs = [(np.zeros((4, 4, 3), np.uint8), 7)] * 3  # (image, label), torchvision style
    got = list(iter_batches(pairs, 2))
    assert [len(b) for b, _ in got] == [2, 1] and got[0][0][0].shape == (4, 4, 3)

    for i in range(3):
        _write(tmp_path / f"{i}.png", i)
    got = list(iter_batches(str(tmp_path), 2))
    assert [ids for _, ids in got] == [["0.png", "1.png"], ["2.png"]]
    assert stream_length(str(tmp_path)) == 3 and stream_length(loader) == 7
    assert stream_length(iter(dicts)) is None
    with pytest.raises(KeyError, match="image"):
        list(iter_batches([{"img": 1}], 2))


def test_scan_of_imagenette_matches_updates_with_its_images(tiny_cnn, imagenette_root):
    ds = cw.datasets.imagenette(imagenette_root, split="val", download=False)
    s = cw.ActivationSpectrum(tiny_cnn, "conv2", None, k=2).scan(ds, batch_size=4, progress=False)
    ref = cw.ActivationSpectrum(tiny_cnn, "conv2", None, k=2).update([ds[i][0] for i in range(6)])
    for ch in range(6):
        a, b = s.examples(ch), ref.examples(ch)
        for col in a:
            assert [e.image_id for e in a[col]] == [e.image_id for e in b[col]]
    assert s.images_seen == 6


def test_model_transform_matches_the_model_preprocessing_in_dataloader_workers(
    tiny_cnn, imagenette_root
):
    tf = cw.datasets.model_transform(tiny_cnn)
    ds = cw.datasets.imagenette(imagenette_root, split="val", download=False, transform=tf)
    raw = cw.datasets.imagenette(imagenette_root, split="val", download=False)
    loader = DataLoader(ds, batch_size=4, num_workers=2)
    batches = list(iter_batches(loader))
    x = torch.cat([b for b, _ in batches])
    torch.testing.assert_close(x, tiny_cnn.preprocess([raw[i][0] for i in range(6)]))
    s = cw.ActivationSpectrum(tiny_cnn, "conv2", None, k=2).scan(loader, progress=False)
    ref = cw.ActivationSpectrum(tiny_cnn, "conv2", None, k=2).update([raw[i][0] for i in range(6)])
    for ch in range(6):
        assert [e.image_id for e in s.examples(ch)["max"]] == [
            e.image_id for e in ref.examples(ch)["max"]
        ]
