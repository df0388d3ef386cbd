"""Images from anywhere: bundled sample photos, files, PIL, numpy arrays and tensors -> PIL RGB."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Larger images are downscaled on load: every view works at the model's input size, and a
# 50-megapixel phone photo would otherwise cost seconds per resize and hundreds of MB.
MAX_SIDE = 2048


def _skimage_file(name: str) -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / name


def _sklearn_file(name: str) -> Path:
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "images" / name


# name -> (where the file lives, a short description). Real photos that ship with
# scikit-image and scikit-learn, so that every example runs offline.
SAMPLES = {
    "cat": (lambda: _skimage_file("chelsea.png"), "Chelsea the cat (scikit-image)"),
    "coffee": (lambda: _skimage_file("coffee.png"), "a cup of espresso (scikit-image)"),
    "astronaut": (
        lambda: _skimage_file("astronaut.png"),
        "astronaut Eileen Collins (scikit-image)",
    ),
    "rocket": (lambda: _skimage_file("rocket.jpg"), "a rocket on the launch pad (scikit-image)"),
    "coins": (lambda: _skimage_file("coins.png"), "Greek coins, grayscale (scikit-image)"),
    "camera": (lambda: _skimage_file("camera.png"), "cameraman, grayscale (scikit-image)"),
    "china": (lambda: _sklearn_file("china.jpg"), "a Chinese temple (scikit-learn)"),
    "flower": (lambda: _sklearn_file("flower.jpg"), "a flower (scikit-learn)"),
}
ALIASES = {"chelsea": "cat"}


def sample_names() -> list[str]:
    """Names of the bundled sample photos, for ``load_image(name)``."""
    return list(SAMPLES)


class ImageLoadError(ValueError):
    """The input could not be read as an image."""


def _from_pil(img: Image.Image) -> Image.Image:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # Composite transparent pixels on white, as a browser shows them.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    img = img.convert("RGB")
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return img


def _from_array(arr: np.ndarray) -> Image.Image:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # CHW -> HWC
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ImageLoadError(
            f"cannot read an array of shape {arr.shape} as an image: expected (H, W), (H, W, 3), "
            "(H, W, 4) or (3, H, W)"
        )
    if arr.dtype == np.uint8:
        pass
    elif np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool:
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise ImageLoadError("the image array contains NaN or infinite values")
        if arr.min() < 0 or arr.max() > 1:
            raise ImageLoadError(
                f"float images must hold values in [0, 1]; this one spans [{arr.min():.3g}, "
                f"{arr.max():.3g}]. Pass uint8 values in [0, 255], or divide by 255."
            )
        arr = np.round(arr * 255).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise ImageLoadError("integer images must hold values in [0, 255]")
        arr = arr.astype(np.uint8)
    else:
        raise ImageLoadError(f"cannot read an array of dtype {arr.dtype} as an image")
    mode = "L" if arr.ndim == 2 else ("RGB" if arr.shape[-1] == 3 else "RGBA")
    return _from_pil(Image.fromarray(arr, mode=mode))


def _from_bytes(data: bytes, what: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # PIL's "cannot identify image file <_io.BytesIO object at 0x...>" says nothing a
        # reader can use; other errors (a truncated JPEG, say) do.
        detail = "" if isinstance(exc, UnidentifiedImageError) else f" ({exc})"
        raise ImageLoadError(
            f"{what} is not an image that PIL can read (PNG, JPEG, GIF, BMP, TIFF, WebP...){detail}"
        ) from None
    return _from_pil(img)


def load_image(source: Any) -> Image.Image:
    """Load an image as a PIL RGB image.

    ``source`` is the name of a bundled sample (see :func:`sample_names`), a path, raw file
    bytes, a PIL image, a numpy array (HWC or CHW; uint8 in [0, 255] or float in [0, 1];
    grayscale and RGBA are converted) or a tensor of the same layouts. EXIF orientation is
    applied and images larger than ``MAX_SIDE`` pixels on a side are downscaled.
    """
    if isinstance(source, Image.Image):
        return _from_pil(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), "the uploaded data")
    if isinstance(source, np.ndarray):
        return _from_array(source)
    try:
        import torch

        if isinstance(source, torch.Tensor):
            t = source.detach().cpu()
            if t.ndim == 4:
                if t.shape[0] != 1:
                    raise ImageLoadError(f"expected one image, got a batch of {t.shape[0]}")
                t = t[0]
            return _from_array(t.numpy())
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    if isinstance(source, (str, os.PathLike)):
        key = str(source)
        key = ALIASES.get(key, key)
        if key in SAMPLES:
            return _from_pil(Image.open(SAMPLES[key][0]()))
        path = Path(source).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"no image file {str(path)!r} and no bundled sample of that name; samples: "
                f"{', '.join(sample_names())}"
            )
        if path.is_dir():
            raise ImageLoadError(f"{str(path)!r} is a folder, not an image file")
        return _from_bytes(path.read_bytes(), f"the file {str(path)!r}")
    raise ImageLoadError(f"cannot load an image from a {type(source).__name__}")
