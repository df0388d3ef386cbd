"""Feature-visualization transforms: shapes, devices and dtypes kept, geometry checked against
independent torch operations, seeded determinism, per-image draws."""

import pytest
import torch
import torch.nn.functional as F

from cnnwidgets.engines.featureviz.transforms import (
    Compose,
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    Resize,
    as_transforms,
    standard_transforms,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_devices_and_dtypes(device, dtype):
    x = torch.rand(2, 3, 32, 40, device=device, dtype=dtype)
    cases = [
        (Pad(5), (42, 50)),
        (Pad(3, mode="reflect"), (38, 46)),
        (Jitter(8), (32, 40)),
        (RandomScale([0.9, 1.1]), (32, 40)),
        (RandomRotate([-10, 10]), (32, 40)),
        (Resize(64), (64, 64)),
        (Compose(standard_transforms()), (56, 64)),
        (Compose(standard_transforms() + [Resize((50, 60))]), (50, 60)),
    ]
    for t, hw in cases:
        y = t(x, _gen())
        assert y.shape == (2, 3, *hw), t
        assert y.device == x.device and y.dtype == dtype, t


def test_fused_pad_and_resize_match_torch():
    x = torch.rand(2, 3, 10, 12, generator=_gen())
    torch.testing.assert_close(Compose([Pad(3)])(x), F.pad(x, [3] * 4, value=0.5))
    ref = F.interpolate(
        F.pad(x, [3] * 4, value=0.5), (20, 30), mode="bilinear", align_corners=False
    )
    torch.testing.assert_close(Compose([Pad(3), Resize((20, 30))])(x), ref)
    # a reflect pad cannot be fused: applied as F.pad itself
    torch.testing.assert_close(
        Compose([Pad(2, mode="reflect")])(x), F.pad(x, [2] * 4, mode="reflect")
    )


def test_rotation_by_90_degrees_is_rot90():
    x = torch.rand(1, 3, 9, 9, generator=_gen())
    y = RandomRotate([90])(x, _gen())
    assert any(torch.allclose(y, torch.rot90(x, k, dims=(2, 3)), atol=1e-5) for k in (1, 3))


def test_scale_zooms_about_the_centre():
    x = torch.rand(1, 1, 8, 8, generator=_gen())
    y = RandomScale([2.0])(x, _gen())
    ref = F.interpolate(x[..., 2:6, 2:6], scale_factor=2, mode="bilinear", align_corners=False)
    # inside, the zoom is bilinear upsampling of the central crop (edges differ: the crop
    # clamps at its border, the zoom reads the neighbours outside it)
    torch.testing.assert_close(y[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])


def test_jitter_shifts_whole_pixels_symmetrically():
    x = torch.zeros(64, 1, 21, 21)
    x[:, :, 10, 10] = 1.0
    y = Jitter(8)(x, _gen(3))
    shifts = []
    for img in y[:, 0]:
        assert torch.isclose(img.max(), torch.tensor(1.0)), "a whole-pixel shift keeps the peak"
        r, c = divmod(int(img.argmax()), 21)
        shifts.append((r - 10, c - 10))
    rows, cols = zip(*shifts)
    assert min(rows) == -4 and max(rows) == 4 and min(cols) == -4 and max(cols) == 4
    assert abs(sum(rows)) < 64 and abs(sum(cols)) < 64  # centred, not drifting one way


def test_seeded_and_per_image():
    x = torch.rand(1, 3, 32, 32, generator=_gen()).repeat(6, 1, 1, 1)
    t = Compose(standard_transforms())
    a, b, c = t(x, _gen(1)), t(x, _gen(1)), t(x, _gen(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # each image of the batch gets its own draw
    assert not all(torch.equal(a[0], img) for img in a[1:])


def test_outside_is_the_pad_colour():
    x = torch.zeros(1, 3, 16, 16)
    y = Compose([Pad(8), RandomRotate([45])])(x, _gen())
    assert torch.allclose(y[..., 0, 0], torch.full((1, 3), 0.5))


def test_custom_callables_and_gradients():
    x = torch.rand(2, 3, 16, 16, generator=_gen(), requires_grad=True)
    t = Compose([Pad(2), lambda im: im * 2, Jitter(2), Resize(24)])
    y = t(x, _gen())
    assert y.shape == (2, 3, 24, 24)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(TypeError):
        Compose([Pad(2), 3])


def test_as_transforms():
    assert as_transforms(None) == []
    assert [type(t) for t in as_transforms("standard")] == [
        Pad,
        Jitter,
        RandomScale,
        RandomRotate,
        Jitter,
    ]
    f = lambda im: im  # noqa: E731
    assert as_transforms([f]) == [f]
    with pytest.raises(ValueError):
        as_transforms("fancy")
