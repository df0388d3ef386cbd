"""Starting a render from an image (``visualize(init=...)``): for each parameterization, how
close the first frame comes to the image, and bad starts refused before the first step.

The expected images are computed independently: the image fitted to the size by
torchvision (as the model's preprocessing does), or used as it is when it has that size.
"""

import numpy as np
import pytest
import torch
from PIL import Image

import cnnwidgets as cw
from cnnwidgets.core.errors import InputError, ParameterError
from cnnwidgets.engines import featureviz as fv


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _first_frame(model, init, **settings) -> np.ndarray:
    run = fv.ascent(model, "conv2:1", steps=1, seed=0, **settings, init=init)
    frame = next(iter(run))
    assert frame.step == 1
    return np.asarray(frame.images)


def _photo(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("param", ["pixel", "fft"])
@pytest.mark.parametrize("decorrelate", [True, False])
@pytest.mark.parametrize("valid", ["sigmoid", "clamp"])
def test_first_frame_is_the_image(tiny_cnn, param, decorrelate, valid):
    img = _photo(16)
    img[0, :4] = 0  # pure black and white pixels have no logit: clipped, still within 1/255
    img[1, :4] = 255
    first = _first_frame(tiny_cnn, img, size=16, param=param, decorrelate=decorrelate, valid=valid)
    np.testing.assert_allclose(first[0], img / 255, atol=1 / 255, rtol=0)
    # the frames move on from there
    run = fv.ascent(tiny_cnn, "conv2:1", steps=3, seed=0, size=16, param=param, init=img)
    assert not np.allclose(list(run)[-1].images[0], img / 255, atol=1 / 255)


def test_an_image_of_another_size_is_fitted_as_the_model_preprocesses(tiny_cnn):
    from torchvision.transforms.v2 import functional as TF

    pil = cw.load_image("coffee")  # 400 x 600
    t = TF.pil_to_tensor(pil)
    t = TF.resize(t, round(24 * tiny_cnn.resize_size / 16), antialias=True)
    ref = TF.center_crop(t, [24, 24]).permute(1, 2, 0).numpy() / 255
    for init in ("coffee", pil, np.array(pil), torch.as_tensor(np.array(pil)).permute(2, 0, 1)):
        first = _first_frame(tiny_cnn, init, size=24)
        np.testing.assert_allclose(first[0], ref, atol=1 / 255, rtol=0)


def test_one_image_for_all_or_one_per_image(tiny_cnn, tmp_path):
    a, b = _photo(16, 1), _photo(16, 2)
    path = tmp_path / "b.png"
    Image.fromarray(b).save(path)
    first = _first_frame(tiny_cnn, [a, path], size=16, batch=2)
    np.testing.assert_allclose(first, np.stack([a, b]) / 255, atol=1 / 255, rtol=0)
    batch = torch.as_tensor(np.stack([a, b]) / 255, dtype=torch.float32).permute(0, 3, 1, 2)
    first = _first_frame(tiny_cnn, batch, size=16, batch=2)
    np.testing.assert_allclose(first, np.stack([a, b]) / 255, atol=1 / 255, rtol=0)
    # one image starts every image of the batch
    first = _first_frame(tiny_cnn, a, size=16, batch=3)
    np.testing.assert_allclose(first, np.stack([a] * 3) / 255, atol=1 / 255, rtol=0)
    with pytest.raises(InputError, match="2 init images for a render of 3"):
        fv.ascent(tiny_cnn, "conv2:1", size=16, batch=3, init=[a, b])


def test_lowres_starts_at_the_closest_image_it_can_draw(tiny_cnn):
    # an image that is itself a bilinear upsampling of one 4 times smaller: exact
    low = np.random.default_rng(3).uniform(0.1, 0.9, (1, 3, 4, 4))
    up = torch.nn.functional.interpolate(
        torch.as_tensor(low), size=(16, 16), mode="bilinear", align_corners=False
    )
    img = up[0].permute(1, 2, 0).numpy()
    first = _first_frame(tiny_cnn, torch.as_tensor(img), size=16, param="lowres", valid="clamp")
    np.testing.assert_allclose(first[0], np.round(img * 255) / 255, atol=1 / 255, rtol=0)
    # a photo: the least-squares low-resolution fit (numpy's lstsq on the upsampling matrix)
    photo = _photo(16, 4)
    p = fv.param.make_param("lowres", 1, 16, factor=4, valid="clamp", decorrelate=False)
    p.set_images(torch.as_tensor(photo / 255, dtype=torch.float32).permute(2, 0, 1)[None])
    u1 = torch.nn.functional.interpolate(
        torch.eye(4, dtype=torch.float64)[None], size=16, mode="linear", align_corners=False
    )[0].T.numpy()
    u = np.kron(u1, u1)  # (256, 16): the 2-D upsampling of a flattened 4 x 4 image
    z = photo / 255 - 0.5
    for c in range(3):
        fit, *_ = np.linalg.lstsq(u, z[..., c].reshape(-1), rcond=None)
        np.testing.assert_allclose(p.low[0, c].detach().numpy().reshape(-1), fit, atol=1e-5)


def test_maco_takes_the_image_phase(tiny_cnn):
    """MACO's magnitude is fixed, so the start cannot be the image. What it takes: the
    phase of the image's (decorrelated, logit) spectrum, its edges and layout. On the cat at
    64 px the start correlates about 0.6 with the image; a random phase about 0."""
    from cnnwidgets.engines.featureviz.targets import fit_images, load_images

    img = fit_images(load_images("cat"), 64, tiny_cnn)
    p = fv.param.make_param("maco", 1, 64, generator=torch.Generator().manual_seed(0))
    noise = p().detach()
    p.set_images(img)
    x = np.clip(img.numpy().astype(np.float64), 0.5 / 255, 1 - 0.5 / 255)
    inverse = np.linalg.inv(fv.param.color_correlation().numpy().astype(np.float64))
    z = torch.as_tensor(np.einsum("nchw,dc->ndhw", np.log(x / (1 - x)), inverse))
    phase = torch.angle(torch.fft.rfft2(z, norm="ortho"))
    # compared on the unit circle: angles of pi and -pi are the same phase
    torch.testing.assert_close(
        torch.polar(torch.ones_like(phase), phase).to(torch.complex64),
        torch.polar(torch.ones_like(p.phase), p.phase.detach()),
        atol=1e-3,
        rtol=0,
    )
    start = p().detach()

    def corr(a):
        return np.corrcoef(a.numpy().ravel(), img.numpy().ravel())[0, 1]

    assert corr(start) > 0.5 and abs(corr(noise)) < 0.1
    assert float((start - img).abs().max()) > 0.1  # not the image itself: the magnitude is MACO's
    first = _first_frame(tiny_cnn, "cat", size=64, param="maco")
    np.testing.assert_allclose(first[0], start[0].permute(1, 2, 0).numpy(), atol=1e-5)


def test_cppn_cannot_start_from_an_image(tiny_cnn):
    with pytest.raises(ParameterError, match="'cppn' parameterization cannot start"):
        fv.ascent(tiny_cnn, "conv2:1", size=16, param="cppn", init="cat")


def test_a_users_parameterization_without_set_images(tiny_cnn):
    class Grey:
        def __init__(self, batch, size, **kwargs):
            self.t = torch.zeros(batch, 3, *size, requires_grad=True)

        def parameters(self):
            return [self.t]

        def __call__(self):
            return torch.sigmoid(self.t)

    fv.visualize(tiny_cnn, "conv2:1", steps=1, size=8, param=Grey)
    with pytest.raises(ParameterError, match="cannot start from an image"):
        fv.ascent(tiny_cnn, "conv2:1", size=8, param=Grey, init="cat")


@pytest.mark.parametrize(
    "bad",
    [
        3,
        None.__class__,
        "no such sample or file",
        np.zeros((5, 5, 7)),
        np.full((4, 4, 3), 2.0),
        torch.full((3, 4, 4), float("nan")),
        [],
        b"not a png",
    ],
)
def test_an_init_that_is_not_an_image_is_refused_before_the_first_step(tiny_cnn, bad):
    before = tiny_cnn.module.conv1.weight.detach().clone()
    with pytest.raises((InputError, cw.ImageLoadError)):
        fv.ascent(tiny_cnn, "conv2:1", size=8, init=bad)
    assert torch.equal(before, tiny_cnn.module.conv1.weight)
