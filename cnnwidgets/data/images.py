"""Images from anywhere (bundled samples, files, URLs, PIL, arrays, tensors) -> PIL RGB.

Every input either becomes the picture it holds (as 8-bit RGB) or raises :class:`ImageLoadError`
with a message that names the input (shape and dtype, or PIL mode and size). Nothing is guessed
silently: see :func:`load_image` for the layout rule and the table of PIL modes.
"""

from __future__ import annotations

import http.client
import io
import math
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..core.errors import InputError

# Larger images are downscaled on load: every view works at the model's input size, and a
# 50-megapixel phone photo would otherwise cost seconds per resize and hundreds of MB.
MAX_SIDE = 2048

# Downloads: each network operation (connect, each read) times out after URL_TIMEOUT seconds,
# and a body larger than MAX_DOWNLOAD_BYTES is refused while it streams in.
URL_TIMEOUT = 15.0
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024

# Numbers of channels an array may hold: gray, RGB, RGBA.
_CHANNELS = (1, 3, 4)

# Array conversion works on blocks of rows of about this many elements (16 MB as float32), so
# that the temporaries stay small however large the array is.
_BLOCK_ELEMENTS = 1 << 22

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
# Modes that PIL converts to RGB by itself, correctly and without an alpha channel.
_PIL_RGB_MODES = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "HSV", "LAB")


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


class ImageLoadError(InputError):
    """The input could not be read as an image."""


# ---- arrays ------------------------------------------------------------------------------


def _reduction_factor(height: int, width: int) -> int:
    """The integer factor by which an image can be box-reduced before the final resize.

    The result is at least MAX_SIDE on its long side, so the Lanczos resize to MAX_SIDE that
    follows still has the last word on the picture; everything downstream resizes to a few
    hundred pixels, where a box average over 2-3 source pixels of a 4000+ px image is invisible.
    """
    return max(1, max(height, width) // MAX_SIDE)


def _hwc(arr: np.ndarray, is_tensor: bool, describe: str) -> np.ndarray:
    """The one place where the layout of an array or tensor is decided; returns an (H, W, C) view.

    Tensors are CHW (PyTorch's convention), numpy arrays HWC (PIL's and matplotlib's); a shape
    that fits only the other layout is read in that one; a numpy shape that fits both is refused.
    """
    shape = arr.shape
    if arr.ndim in (2, 3) and arr.size == 0:
        raise ImageLoadError(f"{describe} has no pixels")
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim == 3:
        fits_chw, fits_hwc = shape[0] in _CHANNELS, shape[2] in _CHANNELS
        if fits_chw and fits_hwc and not is_tensor:
            raise ImageLoadError(
                f"{describe} fits two layouts: HWC, a {shape[0]}x{shape[1]} image with "
                f"{shape[2]} channel(s), or CHW, a {shape[1]}x{shape[2]} image with {shape[0]} "
                "channel(s). Say which: if it is CHW, pass torch.from_numpy(arr) (tensors are "
                "read as CHW); if it is HWC, pass torch.from_numpy(arr).permute(2, 0, 1); or "
                "move the channel axis with np.moveaxis so that only one layout fits."
            )
        if fits_chw and (is_tensor or not fits_hwc):
            return np.moveaxis(arr, 0, -1)
        if fits_hwc:
            return arr
    raise ImageLoadError(
        f"cannot read {describe} as an image: expected (H, W), or (H, W, C) / (C, H, W) with "
        "C = 1, 3 or 4 channels"
    )


def _value_check(hwc: np.ndarray, hi: float, describe: str, rule: str) -> None:
    """Refuse values outside [0, hi] (and NaN/Inf) instead of clipping or wrapping them."""
    if (
        hwc.dtype == bool
        or (hwc.dtype == np.uint8 and hi >= 255)
        or (hwc.dtype == np.uint16 and hi >= 65535)
    ):
        return  # every value of the dtype is valid
    # min and max stream over the array without a full-size temporary, and NaN propagates
    # through both, so they also find non-finite values.
    lo_value, hi_value = hwc.min(), hwc.max()
    if np.issubdtype(hwc.dtype, np.floating):
        if np.isnan(lo_value) or np.isnan(hi_value):
            raise ImageLoadError(f"{describe} contains NaN values")
        if np.isinf(lo_value) or np.isinf(hi_value):
            raise ImageLoadError(f"{describe} contains infinite values")
    if lo_value < 0 or hi_value > hi:
        # str() of a numpy scalar is its shortest exact form: 1.0000001 does not print as 1.
        raise ImageLoadError(f"{describe} spans [{lo_value!s}, {hi_value!s}], but {rule}")


def _box_mean(block: np.ndarray, factor: int) -> np.ndarray:
    """float32 means over factor x factor boxes of an (h, w, c) block; the boxes at the bottom
    and right edges may be partial and average what they hold.

    Sums of strided slices: numpy adds those several times faster than np.add.reduceat.
    """
    height, width = block.shape[:2]
    rows = block[0::factor].astype(np.float32)
    for k in range(1, factor):
        part = block[k::factor]
        rows[: len(part)] += part
    sums = rows[:, 0::factor].copy()
    for k in range(1, factor):
        part = rows[:, k::factor]
        sums[:, : part.shape[1]] += part
    row_counts = np.minimum(factor, height - np.arange(0, height, factor))
    col_counts = np.minimum(factor, width - np.arange(0, width, factor))
    sums /= (row_counts[:, None] * col_counts[None, :]).astype(np.float32)[..., None]
    return sums


def _to_uint8(hwc: np.ndarray, hi: float, factor: int = 1) -> np.ndarray:
    """(H, W, C) values in [0, hi] -> uint8 in [0, 255], box-reduced by ``factor`` on the way.

    Works block by block, so a huge float array never has a full-size float copy. Alpha (the
    last channel when C is 2 or 4) is composited on white here, before any reduction: an
    average of colours must be taken after compositing, not before. The compositing formula
    gives exactly what PIL's alpha_composite gives on uint8 images.
    """
    height, width, channels = hwc.shape
    if hwc.dtype == np.uint8 and factor == 1 and channels in (1, 3):
        return np.ascontiguousarray(hwc)
    has_alpha = channels in (2, 4)
    out = np.empty((-(-height // factor), -(-width // factor), channels - has_alpha), np.uint8)
    scale = np.float32(255 / hi)
    rows = max(factor, _BLOCK_ELEMENTS // (width * channels) // factor * factor)
    for r0 in range(0, height, rows):
        block = hwc[r0 : r0 + rows]
        if has_alpha or factor == 1:
            block = block.astype(np.float32)
            if scale != 1:
                block *= scale
            if has_alpha:
                alpha = block[..., -1:]
                block = block[..., :-1] * (alpha / 255) + (255 - alpha)
        if factor > 1:
            # Without alpha the sums come straight from the input dtype, so only the reduced
            # block is ever float; scaling is linear, so it can come after the average.
            block = _box_mean(block, factor)
            if not has_alpha and scale != 1:
                block *= scale
        np.round(block, out=block)
        np.clip(block, 0, 255, out=block)
        out[r0 // factor : r0 // factor + block.shape[0]] = block
    return out


def _thumbnail_size(width: int, height: int) -> tuple[int, int] | None:
    """The size ``Image.thumbnail((MAX_SIDE, MAX_SIDE))`` gives a width x height image, or None
    when it fits already; PIL's own rounding, so that an image reduced early ends at exactly
    the size that the full one would have."""
    if width <= MAX_SIDE and height <= MAX_SIDE:
        return None

    def round_aspect(number: float, key) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    aspect = width / height
    if aspect <= 1:
        return round_aspect(MAX_SIDE * aspect, key=lambda n: abs(aspect - n / MAX_SIDE)), MAX_SIDE
    return MAX_SIDE, round_aspect(
        MAX_SIDE / aspect, key=lambda n: 0 if n == 0 else abs(aspect - MAX_SIDE / n)
    )


def _downscale(
    img: Image.Image,
    full_size: tuple[int, int],
    box: tuple[float, float, float, float] | None = None,
) -> Image.Image:
    """Lanczos-resize to fit MAX_SIDE; ``img`` may be a reduced version of an image of
    ``full_size``, covering ``box`` of its own pixels (a reduction by a factor that does not
    divide the size leaves a partial last row or column, which the box accounts for)."""
    target = _thumbnail_size(*full_size)
    if target is None:
        return img
    return img.resize(target, Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)


def _pil_from_uint8(arr: np.ndarray, full_size: tuple[int, int], factor: int) -> Image.Image:
    img = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if img.mode != "RGB":
        img = img.convert("RGB")
    width, height = full_size
    return _downscale(img, full_size, (0, 0, width / factor, height / factor))


def _array_to_pil(hwc: np.ndarray, hi: float) -> Image.Image:
    height, width = hwc.shape[:2]
    factor = _reduction_factor(height, width)
    return _pil_from_uint8(_to_uint8(hwc, hi, factor), (width, height), factor)


def _from_array(arr: np.ndarray, is_tensor: bool, describe: str) -> Image.Image:
    hwc = _hwc(arr, is_tensor, describe)
    dtype = hwc.dtype
    if dtype == np.bool_:
        hi, rule = 1, ""
    elif np.issubdtype(dtype, np.integer):
        hi = 255
        rule = (
            "integer images must hold values in [0, 255]; for 16-bit data pass arr / 65535 "
            "(floats in [0, 1]) or a PIL image of mode I;16"
        )
    elif np.issubdtype(dtype, np.floating):
        hi = 1
        rule = (
            "float images must hold values in [0, 1]; pass uint8 values in [0, 255], or "
            "divide by 255"
        )
    else:
        raise ImageLoadError(
            f"cannot read {describe} as an image: expected an integer, float or bool dtype"
        )
    _value_check(hwc, hi, describe, rule)
    return _array_to_pil(hwc, hi)


def _describe(kind: str, shape: tuple, dtype: Any) -> str:
    return f"{kind} of shape {tuple(shape)} and dtype {dtype}"


def _from_tensor(t: Any) -> Image.Image:
    describe = _describe("a torch tensor", tuple(t.shape), t.dtype)
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ImageLoadError(
                f"expected one image, got a batch of {t.shape[0]} "
                f"({describe}); pass one of them, e.g. x[0]"
            )
        t = t[0]
    try:
        t = t.detach().cpu()
        if t.dtype in (torch.bfloat16,):
            t = t.float()  # numpy has no bfloat16; float32 holds every bfloat16 value exactly
        arr = t.numpy()
    except (TypeError, RuntimeError, NotImplementedError) as exc:
        raise ImageLoadError(f"cannot read {describe} as an image ({exc})") from None
    return _from_array(arr, True, describe)


# ---- PIL images and files ----------------------------------------------------------------


def _describe_pil(img: Image.Image, what: str | None = None) -> str:
    body = f"mode {img.mode} and size {img.size[0]}x{img.size[1]}"
    return f"a PIL image of {body}" if what is None else f"{what} (an image of {body})"


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info


def _from_pil(img: Image.Image, what: str | None = None, owned: bool = False) -> Image.Image:
    """A PIL image of any mode -> RGB (see load_image for the mode table).

    ``owned``: the image was opened here, so it may be changed in place; a caller's image is
    never modified.
    """
    if 0 in img.size:
        raise ImageLoadError(f"{_describe_pil(img, what)} has no pixels")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"{_describe_pil(img, what)} could not be decoded ({exc})") from None
    source = img
    if owned:
        ImageOps.exif_transpose(img, in_place=True)
    elif img.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        img = ImageOps.exif_transpose(img)
    describe = _describe_pil(img, what)
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode == "I":
        # 16-bit: 0..65535 spans black..white. Mode I (32-bit) is what PIL makes of 16-bit data
        # in many paths (older PNG readers, convert("I")), so it is read the same way and
        # values beyond 16 bits are refused rather than clipped.
        values = np.asarray(img)
        _value_check(
            values,
            65535,
            describe,
            f"mode {mode} images are read as 16-bit, 0..65535 from black to white; "
            "rescale to that range, or pass a float array in [0, 1]",
        )
        if "transparency" in img.info:  # a tRNS gray value, as in 16-bit PNGs
            alpha = np.where(values == img.info["transparency"], 0, 65535).astype(np.uint16)
            return _array_to_pil(np.stack([values, alpha], -1), 65535)
        return _array_to_pil(values[:, :, None], 65535)
    if mode == "F":
        values = np.asarray(img)
        _value_check(
            values,
            1,
            describe,
            "mode F images must hold values in [0, 1], like float arrays; rescale them first",
        )
        return _array_to_pil(values[:, :, None], 1)
    if mode in ("La", "RGBa"):
        # Premultiplied alpha: the colour already holds c * a, so on white it is c*a + (1 - a).
        arr = np.asarray(img).astype(np.int16)
        color, alpha = arr[..., :-1], arr[..., -1:]
        if (color > alpha).any():
            raise ImageLoadError(
                f"{describe} holds colour values above their alpha, which "
                "premultiplied data cannot; if the colours are not "
                f"premultiplied, use mode {mode.upper()}"
            )
        return _array_to_pil((color + (255 - alpha)).astype(np.uint8), 255)
    if _has_alpha(img):
        # Composite transparent pixels on white, as a browser shows them.
        arr = np.asarray(img if mode in ("RGBA", "LA") else img.convert("RGBA"))
        return _array_to_pil(arr, 255)
    if mode not in _PIL_RGB_MODES:
        raise ImageLoadError(
            f"cannot read {describe}: mode {mode} is not supported; convert it to RGB first"
        )
    if mode != "RGB":
        img = img.convert("RGB")
    img = _downscale(img, img.size)
    # Every other path made a new image; the caller's own must not come back as the result.
    return img.copy() if img is source and not owned else img


def _from_bytes(data: bytes, what: str) -> Image.Image:
    if not data:
        raise ImageLoadError(f"{what} is empty (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{what} is larger than PIL allows ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # PIL's "cannot identify image file <_io.BytesIO object at 0x...>" says nothing a
        # reader can use; other errors (a truncated JPEG, say) do.
        detail = "" if isinstance(exc, UnidentifiedImageError) else f" ({exc})"
        raise ImageLoadError(
            f"{what} is not an image that PIL can read (PNG, JPEG, GIF, BMP, TIFF, WebP...){detail}"
        ) from None
    if img.format == "JPEG" and _thumbnail_size(*img.size) is not None:
        img = _decode_jpeg_reduced(img, what)
    return _from_pil(img, what, owned=True)


def _decode_jpeg_reduced(img: Image.Image, what: str) -> Image.Image:
    """Decode a huge JPEG at 1/2, 1/4 or 1/8 scale (the decoder does it in the DCT domain), never
    smaller than the final size, and resize it to that size: a 50-megapixel photo never
    exists in memory at full size.

    The resize happens before the EXIF rotation (which _from_pil applies to the small result,
    whose EXIF PIL keeps), because the reduced image's partial last row and column are where
    the decoder put them; the target is therefore the final size, turned back when the
    rotation swaps the axes.
    """
    turned = img.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
    width, height = img.size
    target = _thumbnail_size(height, width) if turned else _thumbnail_size(width, height)
    if turned:
        target = target[::-1]
    drafted = img.draft(None, target)
    if drafted is None:
        return img
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"{_describe_pil(img, what)} could not be decoded ({exc})") from None
    if img.mode != "RGB":
        img = img.convert("RGB")  # JPEG modes (L, RGB, CMYK) have no alpha: RGB loses nothing
    return img.resize(target, Image.Resampling.LANCZOS, box=drafted[1], reducing_gap=2.0)


# ---- URLs --------------------------------------------------------------------------------

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _too_big(url: str) -> ImageLoadError:
    return ImageLoadError(
        f"the download from {url} is larger than {MAX_DOWNLOAD_BYTES:,} bytes "
        "(cnnwidgets.data.images.MAX_DOWNLOAD_BYTES); download it yourself "
        "and pass the path"
    )


def _download(url: str) -> bytes:
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ImageLoadError(
            f"cannot load {url}: only http:// and https:// URLs are supported; "
            "for a local file pass its path"
        )
    chunks, total = [], 0
    try:
        # Some servers (Wikimedia among them) refuse Python's default User-Agent.
        request = urllib.request.Request(url, headers={"User-Agent": "cnnwidgets (load_image)"})
        with urllib.request.urlopen(request, timeout=URL_TIMEOUT) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > MAX_DOWNLOAD_BYTES:
                raise _too_big(url)
            # Content-Length may be missing or wrong, so the cap holds while streaming too.
            while chunk := response.read(1 << 16):
                total += len(chunk)
                if total > MAX_DOWNLOAD_BYTES:
                    raise _too_big(url)
                chunks.append(chunk)
    except ImageLoadError:
        raise
    except urllib.error.HTTPError as exc:
        raise ImageLoadError(
            f"could not download {url}: the server answered HTTP {exc.code} {exc.reason}"
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise ImageLoadError(
                f"could not download {url}: no answer within {URL_TIMEOUT:g} s"
            ) from None
        if not isinstance(exc.reason, OSError):  # e.g. "no host given": the URL's fault
            raise ImageLoadError(f"could not download {url}: {exc.reason}") from None
        raise ImageLoadError(
            f"could not download {url}: the network could not be reached "
            f"({exc.reason}); if you are offline, use a local file or a "
            f"bundled sample ({', '.join(sample_names())})"
        ) from None
    except TimeoutError:
        raise ImageLoadError(
            f"could not download {url}: no data within {URL_TIMEOUT:g} s"
        ) from None
    except (ValueError, http.client.InvalidURL) as exc:  # a malformed URL
        raise ImageLoadError(f"{url!r} is not a valid URL ({exc})") from None
    except (http.client.HTTPException, OSError) as exc:
        raise ImageLoadError(f"could not download {url}: the connection failed ({exc})") from None
    return b"".join(chunks)


# ---- the entry point ---------------------------------------------------------------------


def load_image(source: Any) -> Image.Image:
    """Load an image as a PIL RGB image.

    ``source`` is one of:

    - the name of a bundled sample (see :func:`sample_names`), a path, or an http(s) URL
      (downloaded with a timeout of ``URL_TIMEOUT`` seconds per network operation, at most
      ``MAX_DOWNLOAD_BYTES``);
    - raw file bytes (PNG, JPEG, GIF, BMP, TIFF, WebP...) or a PIL image (modes below);
    - a numpy array or a torch tensor (a 4-D tensor must hold a batch of one).

    **Layout.** Torch tensors are CHW (PyTorch's convention) and numpy arrays HWC (PIL's and
    matplotlib's); C is 1 (gray), 3 (RGB) or 4 (RGBA); 2-D inputs are (H, W) gray. A shape that
    fits only the other layout is read in that layout: a (224, 224, 3) tensor is HWC, a
    (3, 224, 224) array is CHW. A numpy array that fits both, i.e. whose first and last
    dimensions are both 1, 3 or 4 such as (3, 40, 3), is refused: pass a torch tensor (read as
    CHW) or move the channel axis with ``np.moveaxis`` so that only one layout fits.

    **Values.** Integer arrays hold 0..255 whatever their dtype (uint8, uint16, int64...);
    float arrays hold [0, 1] (scaled by 255 and rounded); bool arrays are black and white.
    Values outside those ranges, NaN and Inf raise :class:`ImageLoadError`; nothing is
    clipped or rescaled silently. RGBA is composited on white.

    **PIL modes** (also what a file decodes to):

    ========================  ===============================================================
    1, L, P, RGB, RGBX        as PIL converts them to RGB (X is padding and ignored)
    CMYK, YCbCr, HSV, LAB     as PIL converts them to RGB (no ICC colour management)
    RGBA, LA, PA, P or L or   alpha composited on white (PNG tRNS transparency included)
    RGB with transparency
    La, RGBa                  premultiplied alpha, composited on white: c + (255 - a);
                              a colour value above its alpha is refused
    I;16, I;16B/L/N           16-bit, 0..65535 from black to white: round(v * 255 / 65535),
                              which inverts the usual 8 -> 16 bit scaling v * 257 exactly
    I (32-bit integer)        read as 16-bit, like I;16; values outside 0..65535 are refused
    F (32-bit float)          [0, 1] like float arrays; other values, NaN and Inf are refused
    ========================  ===============================================================

    EXIF orientation is applied. Images larger than ``MAX_SIDE`` pixels on a side are
    downscaled (Lanczos), after an early box reduction by a whole factor for huge arrays and
    a reduced-size decode for huge JPEG files, which keep the peak memory small.
    """
    if isinstance(source, Image.Image):
        return _from_pil(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), "the uploaded data")
    if isinstance(source, np.ndarray):
        arr = np.asarray(source)  # a plain ndarray, even for np.matrix and friends
        return _from_array(arr, False, _describe("a numpy array", arr.shape, arr.dtype))
    if isinstance(source, torch.Tensor):
        return _from_tensor(source)
    if isinstance(source, (str, os.PathLike)):
        key = str(source)
        if isinstance(source, str) and _URL_SCHEME.match(source):
            return _from_bytes(_download(source), f"the image at {source}")
        key = ALIASES.get(key, key)
        if key in SAMPLES:
            return _from_bytes(SAMPLES[key][0]().read_bytes(), f"the sample {key!r}")
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
