"""load_image: samples, files, arrays, tensors, EXIF, size limits and clear errors."""

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import cnnwidgets as cw
from cnnwidgets.data import images as images_mod


@pytest.mark.parametrize("name", cw.sample_names())
def test_every_bundled_sample_loads_as_rgb(name):
    img = cw.load_image(name)
    assert img.mode == "RGB"
    assert min(img.size) >= 64


def test_chelsea_alias_is_the_cat():
    assert np.array_equal(np.asarray(cw.load_image("chelsea")), np.asarray(cw.load_image("cat")))


def test_path_pil_numpy_and_tensor_agree(tmp_path):
    ref = cw.load_image("coffee")
    path = tmp_path / "coffee.png"
    ref.save(path)
    arr = np.array(ref)
    from_path = np.asarray(cw.load_image(path))
    from_str = np.asarray(cw.load_image(str(path)))
    from_bytes = np.asarray(cw.load_image(path.read_bytes()))
    from_array = np.asarray(cw.load_image(arr))
    from_chw = np.asarray(cw.load_image(np.moveaxis(arr, -1, 0)))
    from_float = np.asarray(cw.load_image(arr / 255.0))
    from_tensor = np.asarray(cw.load_image(torch.from_numpy(arr).permute(2, 0, 1).float() / 255))
    for other in (from_path, from_str, from_bytes, from_array, from_chw, from_float, from_tensor):
        assert np.array_equal(other, arr)


def test_grayscale_becomes_three_equal_channels():
    gray = (np.arange(32 * 48) % 256).astype(np.uint8).reshape(32, 48)
    rgb = np.asarray(cw.load_image(gray))
    assert rgb.shape == (32, 48, 3)
    assert np.array_equal(rgb[..., 0], gray) and np.array_equal(rgb[..., 2], gray)


def test_rgba_is_composited_on_white():
    # (6, 5, 4): a (4, 4, 4) array would fit both HWC and CHW, which is refused as ambiguous.
    rgba = np.zeros((6, 5, 4), np.uint8)
    rgba[..., 0] = 255  # red ...
    rgba[:2, :, 3] = 255  # ... opaque in the top two rows, fully transparent below
    rgb = np.asarray(cw.load_image(rgba))
    assert (rgb[:2] == [255, 0, 0]).all()
    assert (rgb[2:] == [255, 255, 255]).all()


def test_exif_orientation_is_applied(tmp_path):
    # 40 wide x 20 high, stored with "rotate 90 CW" (orientation 6): viewers show it 20 x 40.
    img = Image.new("RGB", (40, 20), (10, 200, 30))
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    assert cw.load_image(path).size == (20, 40)


def test_huge_images_are_downscaled():
    huge = Image.new("RGB", (images_mod.MAX_SIDE * 3, 600))
    out = cw.load_image(huge)
    assert max(out.size) == images_mod.MAX_SIDE
    assert out.size[1] == 200  # aspect ratio kept


def test_thumbnail_size_is_the_size_pil_gives(monkeypatch):
    monkeypatch.setattr(images_mod, "MAX_SIDE", 50)
    for width in range(1, 400, 3):
        for height in (1, 7, 49, 50, 51, 99, 100, 101, 163, 397):
            img = Image.new("1", (width, height))
            img.thumbnail((50, 50))
            expected = None if img.size == (width, height) else img.size
            assert images_mod._thumbnail_size(width, height) == expected, (width, height)


def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(cw.ImageLoadError, match="not an image"):
        cw.load_image(path)
    with pytest.raises(cw.ImageLoadError, match="not an image") as err:
        cw.load_image(b"%PDF-1.4 not an image")
    assert "0x" not in str(err.value)  # no memory addresses in a message meant for people


def test_missing_file_names_the_samples(tmp_path):
    with pytest.raises(FileNotFoundError, match="cat, coffee"):
        cw.load_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((5, 5, 7), np.uint8), "shape"),
        (np.full((5, 4, 3), 2.0), r"\[0, 1\]"),
        (np.full((5, 4, 3), np.nan), "NaN"),
        (np.full((4, 4), 300, np.int32), r"\[0, 255\]"),
        (torch.zeros(2, 3, 4, 4), "batch of 2"),
        (12345, "int"),
    ],
)
def test_bad_arrays_get_clear_errors(bad, message):
    with pytest.raises(cw.ImageLoadError, match=message):
        cw.load_image(bad)


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(cw.ImageLoadError, match="folder"):
        cw.load_image(tmp_path)


# ---- PIL modes: every mode maps to the right 8-bit picture or is refused --------------------

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
GRAY = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
ALPHA = np.array([0, 255, 1, 128, 254, 77, 200], np.uint8)[None, :].repeat(5, 0)
WORDS = RNG.integers(0, 65536, (5, 7)).astype(np.uint16)
WORDS[0, :2] = 0, 65535


def on_white(color, alpha):
    """Alpha compositing on white, in float64: the reference the loader must match."""
    color = color.astype(np.float64)
    a = alpha.astype(np.float64)[..., None] / 255
    return np.round(color * a + 255 * (1 - a))


def as_rgb(gray):
    return np.repeat(np.asarray(gray, np.float64)[..., None], 3, axis=-1)


def frombytes(mode, arr):
    return Image.frombytes(mode, (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes())


def palette_image():
    idx = (GRAY % 4).astype(np.uint8)
    colors = np.array([[255, 0, 0], [0, 128, 0], [10, 20, 30], [250, 240, 230]], np.uint8)
    img = frombytes("P", idx)
    img.putpalette(colors.flatten().tolist())
    return img, idx, colors


def mode_case(mode):
    """(PIL image in `mode`, the RGB picture it shows, computed without the loader)."""
    if mode == "1":
        bits = GRAY > 127
        return Image.fromarray(bits), as_rgb(bits * 255)
    if mode == "L":
        return Image.fromarray(GRAY), as_rgb(GRAY)
    if mode == "L+transparency":  # a PNG tRNS gray value
        img = Image.fromarray(GRAY)
        img.info["transparency"] = int(GRAY[0, 0])
        expected = as_rgb(GRAY)
        expected[GRAY == GRAY[0, 0]] = 255
        return img, expected
    if mode == "RGB+transparency":  # a PNG tRNS colour
        img = Image.fromarray(RGB)
        img.info["transparency"] = tuple(int(v) for v in RGB[0, 0])
        expected = RGB.astype(np.float64)
        expected[(RGB == RGB[0, 0]).all(-1)] = 255
        return img, expected
    if mode == "P":
        img, idx, colors = palette_image()
        return img, colors[idx].astype(np.float64)
    if mode == "P+transparency":
        img, idx, colors = palette_image()
        img.info["transparency"] = 2  # palette entry 2 is fully transparent
        expected = colors[idx].astype(np.float64)
        expected[idx == 2] = 255
        return img, expected
    if mode == "PA":
        img, idx, colors = palette_image()
        pa = img.convert("PA")
        pa.putdata(list(zip(idx.flatten().tolist(), ALPHA.flatten().tolist())))
        return pa, on_white(colors[idx], ALPHA)
    if mode == "RGB":
        return Image.fromarray(RGB), RGB.astype(np.float64)
    if mode == "RGBX":
        padding = RNG.integers(0, 256, (5, 7, 1), dtype=np.uint8)
        return frombytes("RGBX", np.concatenate([RGB, padding], -1)), RGB.astype(np.float64)
    if mode == "RGBA":
        return frombytes("RGBA", np.dstack([RGB, ALPHA])), on_white(RGB, ALPHA)
    if mode == "LA":
        expected = as_rgb(on_white(GRAY[..., None], ALPHA)[..., 0])
        return frombytes("LA", np.dstack([GRAY, ALPHA])), expected
    if mode in ("La", "RGBa"):
        color = GRAY[..., None] if mode == "La" else RGB
        premultiplied = np.round(color * (ALPHA[..., None] / 255.0)).astype(np.uint8)
        expected = premultiplied + (255.0 - ALPHA[..., None])
        return frombytes(mode, np.dstack([premultiplied, ALPHA])), (
            as_rgb(expected[..., 0]) if mode == "La" else expected
        )
    if mode == "CMYK":
        cmyk = RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8).astype(np.float64)
        expected = np.round((255 - cmyk[..., :3]) * (255 - cmyk[..., 3:]) / 255)
        return frombytes("CMYK", cmyk.astype(np.uint8)), expected
    if mode == "YCbCr":
        y, cb, cr = (RGB[..., i].astype(np.float64) for i in range(3))  # JFIF (JPEG) equations
        expected = np.stack(
            [
                y + 1.402 * (cr - 128),
                y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                y + 1.772 * (cb - 128),
            ],
            -1,
        )
        return frombytes("YCbCr", RGB), np.clip(np.round(expected), 0, 255)
    if mode == "HSV":
        import colorsys

        expected = np.array([[colorsys.hsv_to_rgb(*(px / 255.0)) for px in row] for row in RGB])
        return frombytes("HSV", RGB), np.round(expected * 255)
    if mode == "LAB":
        from skimage.color import lab2rgb

        # Colours well inside the sRGB gamut, so that gamut clipping cannot differ.
        lightness = RNG.integers(100, 180, (5, 7))
        a, b = RNG.integers(-10, 10, (2, 5, 7))
        raw = np.dstack([lightness, a % 256, b % 256]).astype(np.uint8)  # a, b: signed bytes
        expected = lab2rgb(np.dstack([lightness / 255 * 100, a, b]).astype(np.float64)) * 255
        return frombytes("LAB", raw), np.round(expected)
    if mode in ("I;16", "I;16L", "I;16N", "I;16B"):
        dtype = ">u2" if mode == "I;16B" else "<u2" if mode != "I;16N" else "=u2"
        return frombytes(mode, WORDS.astype(dtype)), as_rgb(np.round(WORDS / 257.0))
    if mode == "I":
        return Image.fromarray(WORDS.astype(np.int32)), as_rgb(np.round(WORDS / 257.0))
    if mode == "F":
        values = GRAY / 255.0
        return Image.fromarray(values.astype(np.float32)), as_rgb(np.round(values * 255))
    raise AssertionError(mode)


# Tolerances: 0 where the mapping is exact integer arithmetic; 1 for colour-space conversions
# that PIL computes in fixed point; 2 for LAB (lcms vs scikit-image's matrices).
MODES = {
    "1": 0,
    "L": 0,
    "L+transparency": 0,
    "RGB+transparency": 0,
    "P": 0,
    "P+transparency": 0,
    "PA": 0,
    "RGB": 0,
    "RGBX": 0,
    "RGBA": 0,
    "LA": 0,
    "La": 0,
    "RGBa": 0,
    "CMYK": 1,
    "YCbCr": 1,
    "HSV": 1,
    "LAB": 2,
    "I;16": 0,
    "I;16L": 0,
    "I;16N": 0,
    "I;16B": 0,
    "I": 0,
    "F": 0,
}


@pytest.mark.parametrize("mode", MODES)
def test_every_pil_mode_loads_as_the_picture_it_holds(mode):
    img, expected = mode_case(mode)
    assert img.mode == mode.split("+")[0]
    got = np.asarray(cw.load_image(img)).astype(np.float64)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= MODES[mode]


def test_a_16_bit_png_keeps_its_gray_levels(tmp_path):
    # The bug: a 16-bit PNG (mode I;16) came out all white, and the cat became a nematode.
    coins = np.asarray(cw.load_image("coins"))[..., 0]
    path = tmp_path / "coins16.png"
    Image.fromarray(coins.astype(np.uint16) * 257).save(path)  # the usual 8 -> 16 bit scale
    assert Image.open(path).mode == "I;16"
    for source in (path, path.read_bytes(), Image.open(path)):
        assert np.array_equal(np.asarray(cw.load_image(source))[..., 1], coins)


def test_16_bit_values_round_to_the_nearest_8_bit_level():
    words = np.array([[0, 128, 129, 257 * 100 + 128, 257 * 100 + 129, 65406, 65535]], np.uint16)
    got = np.asarray(cw.load_image(frombytes("I;16", words.astype("<u2"))))[0, :, 0]
    assert got.tolist() == [0, 0, 1, 100, 101, 254, 255]


def test_a_16_bit_png_with_a_transparent_gray_value(tmp_path):
    words = np.array([[0, 1000, 30000, 65535]], np.uint16)
    path = tmp_path / "t.png"
    frombytes("I;16", words.astype("<u2")).save(path, transparency=1000)
    assert np.asarray(cw.load_image(path))[0, :, 0].tolist() == [0, 255, 117, 255]


@pytest.mark.parametrize(
    "values, message",
    [
        (np.array([[-1, 5]], np.int32), r"spans \[-1, 5\].*read as 16-bit"),
        (np.array([[0, 70000]], np.int32), r"spans \[0, 70000\].*read as 16-bit"),
        (np.array([[0, 1.5]], np.float32), r"spans \[0\.0, 1\.5\].*must hold values in \[0, 1\]"),
        (np.array([[0, np.nan]], np.float32), "NaN"),
        (np.array([[0, -np.inf]], np.float32), "infinite"),
    ],
)
def test_wide_pil_modes_out_of_range_are_refused(values, message):
    img = Image.fromarray(values)
    with pytest.raises(cw.ImageLoadError, match=message) as err:
        cw.load_image(img)
    assert f"mode {img.mode} and size 2x1" in str(err.value)


@pytest.mark.parametrize("mode", ["La", "RGBa"])
def test_premultiplied_colour_above_alpha_is_refused(mode):
    pixels = np.array([[[200, 100], [50, 100]]], np.uint8)  # 200 > alpha 100
    if mode == "RGBa":
        pixels = np.dstack([pixels[..., :1]] * 3 + [pixels[..., 1:]])
    with pytest.raises(
        cw.ImageLoadError, match=f"mode {mode} and size 2x1.*above their alpha.*mode {mode.upper()}"
    ):
        cw.load_image(frombytes(mode, pixels))


@pytest.mark.parametrize("mode", ["RGBA", "RGB"])
def test_a_callers_pil_image_is_left_as_it_was(mode):
    img = frombytes("RGBA", np.dstack([RGB, ALPHA])).convert(mode)
    before = np.asarray(img).copy()
    out = cw.load_image(img)
    assert out is not img
    assert img.mode == mode and np.array_equal(np.asarray(img), before)


def test_float_values_just_outside_0_1_print_exactly():
    with pytest.raises(cw.ImageLoadError, match=r"spans \[0\.0, 1\.0000001\]"):
        cw.load_image(np.array([[0, 1.0000001]], np.float32))


# ---- layouts: tensors are CHW, arrays HWC, and a numpy shape that fits both is refused ------


def test_tensor_whose_last_dim_looks_like_channels_is_still_chw():
    chw = torch.from_numpy(RNG.integers(0, 256, (3, 40, 3), dtype=np.uint8))
    got = np.asarray(cw.load_image(chw))
    assert got.shape == (40, 3, 3)
    assert np.array_equal(got, chw.permute(1, 2, 0).numpy())


def test_tensor_that_fits_only_hwc_is_read_as_hwc():
    hwc = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(cw.load_image(torch.from_numpy(hwc))), hwc)


def test_array_that_fits_only_chw_is_read_as_chw():
    chw = RNG.integers(0, 256, (3, 20, 30), dtype=np.uint8)
    assert np.array_equal(np.asarray(cw.load_image(chw)), np.moveaxis(chw, 0, -1))


def test_single_channel_tensor_is_gray_not_a_thin_image():
    gray = torch.from_numpy(RNG.integers(0, 256, (1, 20, 4), dtype=np.uint8))
    got = np.asarray(cw.load_image(gray))
    assert got.shape == (20, 4, 3) and np.array_equal(got[..., 0], gray[0].numpy())


@pytest.mark.parametrize("shape", [(3, 40, 3), (1, 40, 4), (4, 4, 4), (3, 5, 1)])
def test_array_that_fits_both_layouts_is_refused_naming_both(shape):
    with pytest.raises(cw.ImageLoadError) as err:
        cw.load_image(np.zeros(shape, np.uint8))
    message = str(err.value)
    h, w, c = shape
    assert f"shape {shape} and dtype uint8" in message
    assert f"HWC, a {h}x{w} image with {c} channel" in message
    assert f"CHW, a {w}x{c} image with {h} channel" in message
    assert "np.moveaxis" in message and "torch.from_numpy" in message


def test_the_ways_out_of_an_ambiguous_shape_work():
    arr = RNG.integers(0, 256, (3, 40, 3), dtype=np.uint8)
    as_chw = np.asarray(cw.load_image(torch.from_numpy(arr)))
    as_hwc = np.asarray(cw.load_image(torch.from_numpy(arr).permute(2, 0, 1)))
    assert np.array_equal(as_chw, np.moveaxis(arr, 0, -1))
    assert np.array_equal(as_hwc, arr)
    assert np.array_equal(np.asarray(cw.load_image(np.moveaxis(arr, 0, -1))), as_chw)


# ---- NaN, Inf, empty images -----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, kind",
    [
        (np.full((6, 5, 3), np.nan, np.float32), "NaN"),
        (np.array([[0.5, np.inf]], np.float64), "infinite"),
        (np.array([[0.5, -np.inf]], np.float16), "infinite"),
        (torch.full((3, 4, 5), float("nan")), "NaN"),
    ],
)
def test_nan_and_inf_are_refused_naming_the_input(bad, kind):
    with pytest.raises(cw.ImageLoadError, match=kind) as err:
        cw.load_image(bad)
    assert f"shape {tuple(bad.shape)}" in str(err.value)
    assert str(bad.dtype) in str(err.value)


@pytest.mark.parametrize(
    "empty",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((0, 5)),
        np.zeros((3, 0, 4), np.float32),
        torch.zeros(3, 0, 0),
        Image.new("RGB", (0, 0)),
        Image.new("L", (5, 0)),
    ],
)
def test_empty_images_are_refused(empty):
    with pytest.raises(cw.ImageLoadError, match="no pixels"):
        cw.load_image(empty)


def test_empty_files_and_bytes_are_refused(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(cw.ImageLoadError, match=r"empty\.png.*empty \(0 bytes\)"):
        cw.load_image(path)
    with pytest.raises(cw.ImageLoadError, match=r"empty \(0 bytes\)"):
        cw.load_image(b"")


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 4, 3), np.complex64), "dtype complex64"),
        (np.array([["a", "b"]]), "dtype <U1"),
        (np.zeros((5, 4, 2), np.uint8), r"shape \(5, 4, 2\)"),
        (np.zeros((2, 4, 4, 3), np.uint8), r"shape \(2, 4, 4, 3\)"),
        (np.full((4, 5), 60000, np.uint16), r"uint16.*\[0, 255\].*65535"),
        (torch.zeros(4, 5, dtype=torch.complex64), "torch.complex64"),
    ],
)
def test_unreadable_arrays_name_their_shape_and_dtype(bad, message):
    with pytest.raises(cw.ImageLoadError, match=message):
        cw.load_image(bad)


def test_bfloat16_tensors_load():
    x = torch.rand(3, 8, 9)
    expected = np.round(x.bfloat16().float().permute(1, 2, 0).numpy() * 255)
    assert np.array_equal(np.asarray(cw.load_image(x.bfloat16())), expected)


def test_pil_size_limit_is_an_image_load_error(monkeypatch, tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(cw.ImageLoadError, match="larger than PIL allows"):
        cw.load_image(path)


# ---- huge inputs: reduced early and block by block, same picture at the model's input -------


def model_input(img, max_side):
    """What Model.preprocess does to a loaded image (shorter side to 256, centre crop 224), at
    the same ratio to ``max_side`` as 224 is to the real MAX_SIDE of 2048."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    side = max_side * 224 // 2048
    t = TF.resize(
        TF.pil_to_tensor(img),
        side * 256 // 224,
        interpolation=InterpolationMode.BILINEAR,
        antialias=True,
    )
    return TF.center_crop(t, [side, side]).numpy().astype(np.int16)


def full_resolution_path(img):
    """The loader before early reduction: everything at full size, then PIL's thumbnail."""
    img = img.convert("RGB")
    img.thumbnail((images_mod.MAX_SIDE, images_mod.MAX_SIDE), Image.Resampling.LANCZOS)
    return img


@pytest.fixture(scope="module")
def photo():
    """A large photo-like image (sharp edges and fine noise), 1601 wide, 2100 high: neither
    side divides by the reduction factors used below, so partial blocks are exercised."""
    rng = np.random.default_rng(1)
    big = np.asarray(cw.load_image("astronaut").resize((1601, 2100), Image.Resampling.BICUBIC))
    return np.clip(big + rng.normal(0, 8, big.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64, bool])
@pytest.mark.parametrize("factor", [2, 3, 5])
def test_box_mean_averages_whole_and_partial_boxes(dtype, factor):
    block = np.random.default_rng(factor).random((7, 11, 3)) * 255
    block = (block > 127) if dtype is bool else block.astype(dtype)
    expected = np.array(
        [
            [
                block[r : r + factor, c : c + factor].reshape(-1, 3).mean(0)
                for c in range(0, 11, factor)
            ]
            for r in range(0, 7, factor)
        ]
    )
    got = images_mod._box_mean(block, factor)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("max_side", [512, 200])
@pytest.mark.parametrize("kind", ["uint8", "float32", "rgba", "chw-tensor"])
def test_huge_array_is_the_same_at_the_model_input(monkeypatch, photo, max_side, kind):
    monkeypatch.setattr(images_mod, "MAX_SIDE", max_side)
    pixels = photo
    if kind == "rgba":
        alpha = (np.arange(photo.shape[1]) * 255 // photo.shape[1]).astype(np.uint8)
        pixels = np.dstack([photo, np.broadcast_to(alpha, photo.shape[:2])])
    reference = full_resolution_path(Image.fromarray(pixels))
    if kind == "rgba":
        reference = full_resolution_path(
            Image.fromarray(
                on_white(photo, np.broadcast_to(alpha, photo.shape[:2])).astype(np.uint8)
            )
        )
    source = {
        "uint8": pixels,
        "rgba": pixels,
        "float32": pixels.astype(np.float32) / 255,
        "chw-tensor": torch.from_numpy(pixels).permute(2, 0, 1),
    }[kind]
    got = cw.load_image(source)
    assert got.size == reference.size
    assert np.abs(model_input(got, max_side) - model_input(reference, max_side)).max() <= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_huge_array_peak_memory_does_not_grow_with_the_input(monkeypatch, dtype):
    import tracemalloc

    monkeypatch.setattr(images_mod, "MAX_SIDE", 256)
    monkeypatch.setattr(images_mod, "_BLOCK_ELEMENTS", 1 << 16)  # 256 KB of float32 per block
    arr = np.random.default_rng(2).random((1200, 1600, 3)).astype(dtype)
    if dtype == np.uint8:
        arr = (arr * 255).astype(np.uint8)
    tracemalloc.start()
    try:
        cw.load_image(arr)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The reduced result is about 260 x 200 x 3 bytes; blocks cost a few hundred KB. A
    # full-size float copy (what the loader used to make) would be 23 MB or more.
    assert peak < 2_000_000, f"peak {peak / 1e6:.1f} MB for a {arr.nbytes / 1e6:.0f} MB input"


@pytest.mark.parametrize("orientation", [1, 6])
def test_huge_jpeg_is_decoded_at_reduced_scale_with_the_same_result(
    monkeypatch, photo, tmp_path, orientation
):
    from PIL import JpegImagePlugin

    monkeypatch.setattr(images_mod, "MAX_SIDE", 200)
    path = tmp_path / "big.jpg"
    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x0112] = orientation
    Image.fromarray(photo).save(path, quality=92, exif=exif)
    decoded_sizes = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original_draft(self, mode, size)
        decoded_sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    got = cw.load_image(path)
    assert decoded_sizes == [(201, 263)]  # 1/8 scale, partial last column and row included
    reference = full_resolution_path(ImageOps.exif_transpose(Image.open(path)))
    assert reference.size == ((152, 200) if orientation == 1 else (200, 152))
    assert got.size == reference.size
    assert np.abs(model_input(got, 200) - model_input(reference, 200)).max() <= 1
    # A PIL image the caller opened is theirs: it is decoded in full, never drafted.
    mine = Image.open(path)
    assert np.array_equal(np.asarray(cw.load_image(mine)), np.asarray(reference))
    assert mine.size == (1601, 2100)


# ---- URLs: served by a local http.server, no internet needed --------------------------------


@pytest.fixture(scope="module")
def server():
    import http.server
    import threading
    import time

    png = io.BytesIO()
    Image.fromarray(RGB).save(png, "PNG")
    routes = {"/cat.png": png.getvalue(), "/notes.txt": b"not a picture", "/big": b"x" * 5000}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            try:
                self.respond()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the loader hung up on purpose (a body over the size cap)

        def respond(self):
            if self.path == "/slow.png":
                time.sleep(1.0)
            if self.path == "/streamed":
                # No Content-Length: the body ends when the connection closes (HTTP/1.0), so
                # only counting while streaming can catch it.
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"x" * 5000)
                return
            body = routes.get(self.path.replace("/slow.png", "/cat.png"))
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_http_url_is_downloaded(server):
    assert np.array_equal(np.asarray(cw.load_image(f"{server}/cat.png")), RGB)


def test_a_missing_url_names_the_url_and_the_status(server):
    with pytest.raises(cw.ImageLoadError, match=f"{server}/missing.png.*HTTP 404") as err:
        cw.load_image(f"{server}/missing.png")
    assert "http://" in str(err.value)  # the slashes are not mangled into http:/


def test_a_url_that_is_not_an_image(server):
    with pytest.raises(cw.ImageLoadError, match=f"{server}/notes.txt is not an image"):
        cw.load_image(f"{server}/notes.txt")


@pytest.mark.parametrize("route", ["/big", "/streamed"])
def test_an_oversized_download_is_refused(server, monkeypatch, route):
    monkeypatch.setattr(images_mod, "MAX_DOWNLOAD_BYTES", 1000)
    with pytest.raises(cw.ImageLoadError, match=f"{server}{route} is larger than 1,000 bytes"):
        cw.load_image(server + route)


def test_the_size_cap_counts_the_body_not_only_the_header(server, monkeypatch):
    monkeypatch.setattr(images_mod, "MAX_DOWNLOAD_BYTES", 5000)  # exactly the body: allowed
    with pytest.raises(cw.ImageLoadError, match="is not an image"):
        cw.load_image(f"{server}/streamed")
    monkeypatch.setattr(images_mod, "MAX_DOWNLOAD_BYTES", 4999)
    with pytest.raises(cw.ImageLoadError, match="larger than 4,999 bytes"):
        cw.load_image(f"{server}/streamed")


def test_a_slow_server_times_out(server, monkeypatch):
    monkeypatch.setattr(images_mod, "URL_TIMEOUT", 0.2)
    with pytest.raises(cw.ImageLoadError, match=r"slow\.png: no (answer|data) within 0\.2 s"):
        cw.load_image(f"{server}/slow.png")


def test_an_unreachable_host_says_the_network_could_not_be_reached():
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cat.png"
    with pytest.raises(
        cw.ImageLoadError, match=f"could not download {url}: the network could not be reached"
    ):
        cw.load_image(url)


def test_other_url_schemes_are_refused_clearly():
    with pytest.raises(
        cw.ImageLoadError, match="ftp://example.org/cat.png: only http:// and https://"
    ):
        cw.load_image("ftp://example.org/cat.png")


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://[::1/cat.png", r"'http://\[::1/cat.png' is not a valid URL"),
        ("http://exa mple.org/cat.png", "'http://exa mple.org/cat.png' is not a valid URL"),
        ("http://", "could not download http://: no host given"),
    ],
)
def test_malformed_urls_are_refused_clearly(url, message):
    with pytest.raises(cw.ImageLoadError, match=message):
        cw.load_image(url)
