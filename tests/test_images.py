"""load_image: samples, files, arrays, tensors, EXIF, size limits and clear errors."""

import numpy as np
import pytest
import torch
from PIL import Image

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
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red ...
    rgba[:2, :, 3] = 255  # ... opaque in the top half, fully transparent below
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
        (np.full((4, 4, 3), 2.0), r"\[0, 1\]"),
        (np.full((4, 4, 3), np.nan), "NaN"),
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
