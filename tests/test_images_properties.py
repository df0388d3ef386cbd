"""Property-based tests of load_image over dtypes, layouts, containers, PIL modes and PNG bytes.

The contract: every input either loads as the picture it holds (the same pixels, within
rounding, as its canonical uint8 HWC form) or raises cnnwidgets.ImageLoadError with a message
that names the input (shape and dtype; mode and size for PIL images) and says why. Never a
foreign exception, never a silent change.

The expected outcome of each generated input is computed here from the documented rules
(load_image's docstring) in plain numpy, independently of the loader.
"""

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from PIL import Image

import cnnwidgets as cw

SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CHANNELS = (1, 3, 4)
DTYPES = ["uint8", "uint16", "int32", "int64", "float16", "float32", "float64", "bool"]


class Refused(Exception):
    """The documented rules refuse this input; ``why`` must appear in the loader's message."""

    def __init__(self, why):
        super().__init__(why)
        self.why = why


# ---- the reference: canonical uint8 HWC -> the RGB picture it shows ---------------------------


def picture(canonical):
    """RGB uint8 that a canonical (H, W, C) uint8 image shows: gray repeated, alpha on white."""
    x = canonical.astype(np.float64)
    if x.shape[-1] in (2, 4):
        a = x[..., -1:] / 255
        x = np.round(x[..., :-1] * a + 255 * (1 - a))
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x


def canonical_from_values(hwc):
    """Values of any dtype, (H, W, C) -> canonical uint8 by the documented value rules."""
    if hwc.dtype == bool:
        return hwc.astype(np.uint8) * 255
    if np.issubdtype(hwc.dtype, np.integer):
        if hwc.min() < 0 or hwc.max() > 255:
            raise Refused("spans")
        return hwc.astype(np.uint8)
    if np.isnan(hwc).any():
        raise Refused("NaN")
    if np.isinf(hwc).any():
        raise Refused("infinite")
    if hwc.min() < 0 or hwc.max() > 1:
        raise Refused("spans")
    return np.round(hwc.astype(np.float64) * 255).astype(np.uint8)


def read_layout(x, is_tensor):
    """The documented layout rule, restated: (H, W, C) view of an array or tensor's values."""
    if is_tensor and x.ndim == 4:
        if x.shape[0] != 1:
            raise Refused("batch of")
        x = x[0]
    if x.ndim not in (2, 3):
        raise Refused("cannot read")
    if x.size == 0:
        raise Refused("no pixels")
    if x.ndim == 2:
        return x[..., None]
    chw, hwc = x.shape[0] in CHANNELS, x.shape[2] in CHANNELS
    if chw and hwc and not is_tensor:
        raise Refused("fits two layouts")
    if chw and (is_tensor or not hwc):
        return np.moveaxis(x, 0, -1)
    if hwc:
        return x
    raise Refused("cannot read")


def check(source, expect, names, tolerance=0):
    """Load ``source``; ``expect`` is a canonical uint8 HWC image or a Refused."""
    if isinstance(expect, Refused):
        with pytest.raises(cw.ImageLoadError) as err:
            cw.load_image(source)
        message = str(err.value)
        assert expect.why in message, message
        for name in names:
            assert name in message, f"{name!r} not in {message!r}"
        return
    got = np.asarray(cw.load_image(source)).astype(np.int16)
    expected = picture(expect)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= tolerance
    # The canonical form itself loads as that same picture.
    canonical = Image.fromarray(expect[..., 0] if expect.shape[-1] == 1 else expect)
    assert np.array_equal(np.asarray(cw.load_image(canonical)), expected)


# ---- numpy arrays and torch tensors -----------------------------------------------------------


def encode(canonical, dtype):
    """The canonical image written in ``dtype`` by the documented value rules."""
    if dtype == "bool":
        return canonical > 127
    if dtype.startswith("float"):
        return (canonical / 255.0).astype(dtype)
    return canonical.astype(dtype)


FLOATS = ["float16", "float32", "float64"]
OUT_OF_RANGE = {  # values outside each dtype's documented range
    "uint16": [256, 65535],
    "int32": [-1, 256, 2**31 - 1],
    "int64": [-1, 256, -(2**40)],
    "float16": [-0.01, 1.01, 255.0],
    "float32": [-1e-6, 1.0000001, 255.0],
    "float64": [-1e-12, 1 + 1e-12, 1e300],
}
NOT_FINITE = {"nan": [np.nan], "inf": [np.inf, -np.inf]}


# Image sides: mostly sizes that cannot be mistaken for a channel count, so that most numpy
# examples get past the layout rule to the value rules; 1, 3 and 4 still come up.
SIDES = st.one_of(st.sampled_from([2, 5, 6, 7]), st.integers(1, 7))


@st.composite
def array_inputs(draw):
    h, w = draw(SIDES), draw(SIDES)
    c = draw(st.sampled_from(CHANNELS))
    kind = draw(st.sampled_from(["exact", "exact", "any", "out of range", "nan", "inf"]))
    dtype = draw(
        st.sampled_from(
            DTYPES if kind == "exact" else list(OUT_OF_RANGE) if kind == "out of range" else FLOATS
        )
    )
    canonical = draw(npst.arrays(np.uint8, (h, w, c)))
    values = encode(canonical, dtype)
    if kind == "any":
        # Any value in [0, 1] that the dtype holds, not only multiples of 1/255.
        width = {"float16": 16, "float32": 32, "float64": 64}[dtype]
        values = draw(npst.arrays(dtype, (h, w, c), elements=st.floats(0, 1, width=width)))
    if kind in ("out of range", "nan", "inf"):
        values = values.copy()
        where = tuple(draw(st.integers(0, n - 1)) for n in values.shape)
        bad = OUT_OF_RANGE[dtype] if kind == "out of range" else NOT_FINITE[kind]
        values[where] = draw(st.sampled_from(bad))
    layout = draw(st.sampled_from(["HWC", "CHW"] + (["HW"] if c == 1 else [])))
    arr = {"HWC": values, "CHW": np.moveaxis(values, -1, 0), "HW": values[..., 0]}[layout]
    if draw(st.booleans()):
        batch = draw(st.booleans())
        tensor = torch.from_numpy(np.ascontiguousarray(arr))
        return tensor[None] if batch else tensor
    return arr


# (type of input, outcome) for every example the property tests ran: see the last test.
OUTCOMES = set()


def record(source, expect):
    why = expect.why if isinstance(expect, Refused) else "loads"
    OUTCOMES.add((type(source).__name__, why))


def names_of(source):
    dtype = str(source.dtype)
    return [str(tuple(source.shape)), dtype]


def expected_for(source):
    is_tensor = isinstance(source, torch.Tensor)
    x = source.numpy() if is_tensor else source
    try:
        return canonical_from_values(read_layout(x, is_tensor))
    except Refused as refused:
        return refused


@SETTINGS
@given(array_inputs())
def test_arrays_and_tensors_load_as_their_picture_or_are_refused_by_name(source):
    floating = str(source.dtype).replace("torch.", "").startswith("float")
    expect = expected_for(source)
    record(source, expect)
    check(source, expect, names_of(source), tolerance=1 if floating else 0)


@st.composite
def odd_shapes(draw):
    """Shapes of any rank with any sizes (zero included), filled with valid values."""
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)))
    dtype = draw(st.sampled_from(["uint8", "float32", "bool"]))
    arr = np.ones(shape, dtype)
    return torch.from_numpy(arr) if draw(st.booleans()) else arr


@settings(SETTINGS, max_examples=100)
@given(odd_shapes())
def test_any_shape_loads_by_the_layout_rule_or_is_refused_by_name(source):
    expect = expected_for(source)
    record(source, expect)
    check(source, expect, names_of(source))


# ---- PIL images and PNG bytes -----------------------------------------------------------------

PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}


def frombytes(mode, arr):
    return Image.frombytes(mode, (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes())


@st.composite
def pil_inputs(draw):
    """(PIL image, canonical uint8 HWC or Refused)."""
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    mode = draw(
        st.sampled_from(
            [
                "1",
                "L",
                "LA",
                "P",
                "PA",
                "RGB",
                "RGBX",
                "RGBA",
                "CMYK",
                "La",
                "RGBa",
                "I;16",
                "I;16B",
                "I",
                "F",
                "F:out of range",
                "F:nan",
                "F:inf",
            ]
        )
    )

    def u8(channels):
        return draw(npst.arrays(np.uint8, (h, w, channels)))

    if mode == "1":
        bits = draw(npst.arrays(bool, (h, w)))
        return Image.fromarray(bits), bits[..., None].astype(np.uint8) * 255
    if mode in ("L", "LA", "RGB", "RGBA"):
        pixels = u8(len(mode))
        return frombytes(mode, pixels), pixels
    if mode == "RGBX":
        pixels = u8(4)  # the fourth byte is padding
        return frombytes(mode, pixels), pixels[..., :3]
    if mode == "CMYK":
        pixels = u8(3)  # PIL's RGB <-> CMYK is exact both ways
        return Image.fromarray(pixels).convert("CMYK"), pixels
    if mode in ("P", "PA"):
        colors = draw(npst.arrays(np.uint8, (draw(st.integers(1, 6)), 3)))
        index = draw(npst.arrays(np.uint8, (h, w), elements=st.integers(0, len(colors) - 1)))
        img = frombytes("P", index)
        img.putpalette(colors.flatten().tolist())
        expected = colors[index]
        if mode == "PA":
            alpha = u8(1)
            img = img.convert("PA")
            img.putdata(list(zip(index.flatten().tolist(), alpha.flatten().tolist())))
            return img, np.dstack([expected, alpha])
        if draw(st.booleans()):  # one palette entry is transparent
            clear = draw(st.integers(0, len(colors) - 1))
            img.info["transparency"] = clear
            expected = np.dstack([expected, np.where(index == clear, 0, 255).astype(np.uint8)])
        return img, expected
    if mode in ("La", "RGBa"):
        pixels = u8(2 if mode == "La" else 4)
        color, alpha = pixels[..., :-1].astype(np.int16), pixels[..., -1:].astype(np.int16)
        if draw(st.booleans()):  # make it valid premultiplied data
            color = np.minimum(color, alpha)
            pixels = np.dstack([color, alpha]).astype(np.uint8)
        if (color > alpha).any():
            return frombytes(mode, pixels), Refused("above their alpha")
        return frombytes(mode, pixels), (color + 255 - alpha).astype(np.uint8)
    if mode in ("I;16", "I;16B", "I"):
        if mode == "I":
            words = draw(
                npst.arrays(
                    np.int32,
                    (h, w),
                    elements=st.one_of(st.integers(0, 65535), st.integers(-(2**31), 2**31 - 1)),
                )
            )
        else:
            words = draw(npst.arrays(np.uint16, (h, w)))
        raw = words.astype(">u2" if mode == "I;16B" else "<u2" if mode == "I;16" else "<i4")
        img = frombytes(mode, raw)
        if words.min() < 0 or words.max() > 65535:
            return img, Refused("spans")
        # round(v / 257) has no ties: 257 is odd.
        return img, np.round(words / 257.0).astype(np.uint8)[..., None]
    if mode.startswith("F"):  # "F", or "F:<kind>" with one spoiled value
        values = draw(npst.arrays(np.float32, (h, w), elements=st.floats(0, 1, width=32)))
        if mode != "F":
            kind = mode.split(":")[1]
            bad = OUT_OF_RANGE["float32"] if kind == "out of range" else NOT_FINITE[kind]
            values[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = draw(
                st.sampled_from(bad)
            )
        img = frombytes("F", values.astype("<f4"))
        try:
            return img, canonical_from_values(values[..., None])
        except Refused as refused:
            return img, refused
    raise AssertionError(mode)


@settings(SETTINGS, max_examples=300)
@given(pil_inputs(), st.booleans())
def test_pil_images_and_png_bytes_load_as_their_picture_or_are_refused_by_name(case, as_png):
    img, expect = case
    names = [f"mode {img.mode}", f"size {img.size[0]}x{img.size[1]}"]
    if as_png and img.mode in PNG_MODES:
        buffer = io.BytesIO()
        img.save(buffer, "PNG")
        record(buffer.getvalue(), expect)
        check(buffer.getvalue(), expect, names)
    else:
        record(img, expect)
        check(img, expect, names, tolerance=1 if img.mode == "F" else 0)


def test_the_examples_reach_every_outcome():
    """The properties above are only as good as their examples: they must include loads and
    every kind of refusal, for every kind of input."""
    if not OUTCOMES:  # this test was run on its own: run the properties (deterministic)
        test_arrays_and_tensors_load_as_their_picture_or_are_refused_by_name()
        test_any_shape_loads_by_the_layout_rule_or_is_refused_by_name()
        test_pil_images_and_png_bytes_load_as_their_picture_or_are_refused_by_name()
    for container in ("ndarray", "Tensor"):
        for outcome in ("loads", "spans", "NaN", "infinite", "cannot read", "no pixels"):
            assert (container, outcome) in OUTCOMES, (container, outcome)
    assert ("ndarray", "fits two layouts") in OUTCOMES
    assert ("Tensor", "batch of") in OUTCOMES
    for outcome in ("loads", "spans", "NaN", "infinite", "above their alpha"):
        assert ("Image", outcome) in OUTCOMES, ("Image", outcome)
    assert ("bytes", "loads") in OUTCOMES
