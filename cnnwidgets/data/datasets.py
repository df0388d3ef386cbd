"""Data sets for scans: ImageNette, any image folder, an offline stream of sample-photo crops,
and the one function that turns any of those (or a DataLoader, or an iterable) into batches.

Items are PIL images, ``(image, label)`` tuples (torchvision style) or dicts with an "image"
key and optionally an "id" (Hugging Face style; :func:`image_folder` and :func:`sample_crops`
yield those, so that a scan's examples name the file or crop they came from). Images stay
un-preprocessed here: the model's own preprocessing runs in the scan, as in ``cw.feature_maps``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .images import load_image, sample_names

IMAGENETTE_SIZES = ("full", "320px", "160px")


def imagenette(
    root: str | os.PathLike = "~/.cache/cnnwidgets/imagenette",
    split: str = "val",
    size: str = "160px",
    download: bool = True,
    transform=None,
):
    """ImageNette (10 easy ImageNet classes) via ``torchvision.datasets.Imagenette``.

    Items are ``(PIL image, label)``; ``dataset.classes`` names the labels. The archive is
    downloaded into ``root`` the first time (if not there yet); with ``download=False`` the
    folder ``root/imagenette2[-320|-160]/{train,val}/<wnid>/*.JPEG`` must exist.
    """
    from torchvision.datasets import Imagenette

    if size not in IMAGENETTE_SIZES:
        raise ValueError(f"size must be one of {', '.join(IMAGENETTE_SIZES)}, got {size!r}")
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    root = Path(root).expanduser()
    try:
        return Imagenette(
            str(root),
            split=split,
            size=size,
            download=download,
            transform=transform,
            loader=load_image,
        )
    except RuntimeError as exc:  # not there and download=False
        raise FileNotFoundError(
            f"no ImageNette ({size}) under {str(root)!r}; pass download=True "
            f"(needs the network), or use cw.datasets.sample_crops() offline. "
            f"({exc})"
        ) from None
    except OSError as exc:  # the download failed
        raise ConnectionError(
            f"could not download ImageNette into {str(root)!r} ({exc}); "
            "offline, use cw.datasets.sample_crops() or image_folder()"
        ) from None


def _image_extensions() -> tuple[str, ...]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return tuple(e.lower() for e in IMG_EXTENSIONS)


class ImageFolder(Dataset):
    """Every image file under a folder (recursively, sorted), as dicts
    ``{"image": PIL, "id": relative path, "path": full path}``. No class subfolders needed."""

    def __init__(self, path: str | os.PathLike, recursive: bool = True, transform=None):
        self.root = Path(path).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"no folder {str(self.root)!r}")
        ext = _image_extensions()
        pattern = "**/*" if recursive else "*"
        self.files = sorted(
            p for p in self.root.glob(pattern) if p.is_file() and p.suffix.lower() in ext
        )
        if not self.files:
            raise FileNotFoundError(f"no image files ({', '.join(ext)}) in {str(self.root)!r}")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        path = self.files[i]
        img = load_image(path)
        if self.transform is not None:
            img = self.transform(img)
        return {"image": img, "id": path.relative_to(self.root).as_posix(), "path": str(path)}


def image_folder(path: str | os.PathLike, recursive: bool = True, transform=None) -> ImageFolder:
    """Any folder of images (see :class:`ImageFolder`)."""
    return ImageFolder(path, recursive=recursive, transform=transform)


class SampleCrops(Dataset):
    """``n`` random crops of the bundled sample photos: an offline stand-in for a data set.

    Item ``i`` is the same for a given ``seed`` whatever the order of access (each item draws
    from its own generator seeded with ``(seed, i)``): a photo, a box of 10-100 % of its area
    and aspect 3/4..4/3 (as ``RandomResizedCrop``), a horizontal flip half the time, resized to
    ``size`` x ``size``. Items are ``{"image": PIL, "id": i, "source": photo name}``.
    """

    def __init__(
        self, n: int = 1000, size: int = 224, seed: int = 0, names: Sequence[str] | None = None
    ):
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        self.n, self.size, self.seed = int(n), int(size), int(seed)
        self.names = list(names) if names is not None else sample_names()
        self._photos = {}

    def __len__(self) -> int:
        return self.n

    def _photo(self, name: str):
        if name not in self._photos:
            self._photos[name] = load_image(name)
        return self._photos[name]

    def __getitem__(self, i: int) -> dict:
        from PIL import Image

        if not 0 <= i < self.n:
            raise IndexError(i)
        rng = np.random.default_rng([self.seed, i])
        name = self.names[rng.integers(len(self.names))]
        img = self._photo(name)
        W, H = img.size
        area = W * H * rng.uniform(0.1, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        w = int(min(W, round(np.sqrt(area * aspect))))
        h = int(min(H, round(np.sqrt(area / aspect))))
        x0, y0 = int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1))
        crop = img.resize(
            (self.size, self.size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + w, y0 + h)
        )
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return {"image": crop, "id": i, "source": name}


def sample_crops(n: int = 1000, size: int = 224, seed: int = 0) -> SampleCrops:
    """An offline data set of ``n`` crops of the bundled photos (see :class:`SampleCrops`)."""
    return SampleCrops(n, size, seed)


class ModelTransform:
    """A model's preprocessing for one image, image -> (C, H, W) input tensor on the CPU.

    The same steps as ``Model.preprocess`` (resize the shorter side, centre crop, scale, then
    ``(x - mean) / std``), but holding only those settings, so that it pickles small and runs
    in ``DataLoader`` worker processes: batches then arrive as ready input tensors.
    """

    def __init__(self, model):
        self.in_channels = model.in_channels
        self.resize_size, self.input_size = model.resize_size, tuple(model.input_size)
        self.interpolation = model.interpolation
        self.mean = torch.tensor(model.mean).view(-1, 1, 1)
        self.std = torch.tensor(model.std).view(-1, 1, 1)

    def __call__(self, image: Any) -> torch.Tensor:
        from .tensors import image_tensor

        t = image_tensor(
            image, self.in_channels, self.resize_size, self.input_size, self.interpolation
        )
        return (t - self.mean) / self.std


def model_transform(model) -> ModelTransform:
    """``transform=`` for the data sets here (or any torchvision data set) that preprocesses
    as ``model`` does, e.g. in the workers of a ``DataLoader``; see :class:`ModelTransform`."""
    return ModelTransform(model)


# ---- any source -> batches -------------------------------------------------------------------
def stream_length(data: Any) -> int | None:
    """Number of images in a source, or None when it cannot be known without reading it."""
    if isinstance(data, (str, os.PathLike)):
        return len(image_folder(data))
    if isinstance(data, DataLoader):
        try:
            return len(data.dataset)
        except TypeError:
            return None
    if isinstance(data, torch.Tensor):
        return int(data.shape[0]) if data.ndim == 4 else 1
    try:
        return len(data)
    except TypeError:
        return None


def _split_item(item: Any, index: int) -> tuple[Any, Any]:
    """One data-set item -> (image, id); None leaves the id to the tracker (its stream index)."""
    if isinstance(item, dict):
        if "image" not in item:
            raise KeyError(f"dict items need an 'image' key; this one has {sorted(item)}")
        return item["image"], item.get("id")
    if isinstance(item, (tuple, list)) and item and not isinstance(item[0], (int, float)):
        return item[0], index  # (image, label, ...): the id is the index in the data set
    return item, None


def _split_collated(batch: Any, start: int) -> tuple[Any, list]:
    """A DataLoader batch -> (images or a 4-D tensor, ids)."""
    if isinstance(batch, torch.Tensor):
        return batch, [None] * len(batch)
    if isinstance(batch, dict):
        images = batch["image"]
        n = len(images)
        ids = batch.get("id")
        ids = (
            [None] * n
            if ids is None
            else (ids.tolist() if isinstance(ids, torch.Tensor) else list(ids))
        )
        return images, ids
    if (
        isinstance(batch, (tuple, list))
        and len(batch) >= 1
        and isinstance(batch[0], torch.Tensor)
        and batch[0].ndim == 4
    ):
        return batch[0], [None] * len(batch[0])  # (images, labels)
    # collate_fn=list (or similar): a list of items
    pairs = [_split_item(it, start + i) for i, it in enumerate(batch)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def iter_batches(data: Any, batch_size: int = 32) -> Iterator[tuple[Any, list]]:
    """Batches ``(images, ids)`` from any source; ``images`` is a list or a ready 4-D tensor.

    ``data``: a folder path (:func:`image_folder`); a ``DataLoader`` (its batches as they come:
    tensors, ``(tensor, labels)``, dicts with "image", or lists of items); a 4-D input tensor
    (split into ``batch_size`` rows); a Dataset or any iterable of items (PIL images, arrays,
    paths, ``(image, label)`` tuples, dicts with "image" and optionally "id").
    4-D tensors are taken as ready model input (as ``Model.prepare`` does), so a DataLoader of
    tensors must already hold normalized inputs: build its data set with
    ``transform=model_transform(model)``. Anything else goes through the model's preprocessing.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if isinstance(data, (str, os.PathLike)):
        data = image_folder(data)
    if isinstance(data, torch.Tensor):
        if data.ndim != 4:
            data = data[None]
        for s in range(0, len(data), batch_size):
            yield data[s : s + batch_size], [None] * len(data[s : s + batch_size])
        return
    if isinstance(data, DataLoader):
        start = 0
        for batch in data:
            images, ids = _split_collated(batch, start)
            start += len(ids)
            yield images, ids
        return
    indexed = isinstance(data, Dataset) and not hasattr(data, "__iter__")
    if indexed:
        dataset = data
        data = (dataset[i] for i in range(len(dataset)))
    images, ids = [], []
    for i, item in enumerate(data):
        img, id_ = _split_item(item, i if indexed else None)
        images.append(img)
        ids.append(id_)
        if len(images) == batch_size:
            yield images, ids
            images, ids = [], []
    if images:
        yield images, ids
