"""Quality bars of the Lucid curriculum on EfficientNet-Lite0: feature inversion, style
transfer, feature accentuation and interpolation reach what they promise.

For CPU speed the renders are 64 px, shown to the model at 96 px (``input_size=96``), with no
random transforms (inversion, content and accentuation compare positions). Everything is
measured independently of the engine: the final image upsampled with F.interpolate, a forward
pass with a plain hook, numpy-style formulas; target images fitted with torchvision the way
the model's preprocessing does.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

import cnnwidgets as cw
from cnnwidgets.engines import featureviz as fv

SIZE, INPUT = 64, 96
FAST = dict(size=SIZE, input_size=INPUT, seed=0, transforms=None)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _as_model_sees(model, images) -> torch.Tensor:
    """(N, H, W, 3) in [0, 1] at SIZE -> (N, 3, INPUT, INPUT), upsampled as a render is."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
    return F.interpolate(x, size=(INPUT, INPUT), mode="bilinear", align_corners=False)


def _photo(model, name) -> np.ndarray:
    """A bundled photo at SIZE: shorter side resized and centre-cropped by torchvision."""
    t = TF.pil_to_tensor(cw.load_image(name))
    t = TF.resize(t, round(SIZE * model.resize_size / model.input_size[0]), antialias=True)
    return (TF.center_crop(t, [SIZE, SIZE]).permute(1, 2, 0).numpy() / 255.0)[None]


def _acts(model, x: torch.Tensor, layers) -> dict:
    out, handles = {}, []
    for name in layers:
        mod = model.module.get_submodule(name)
        handles.append(mod.register_forward_hook(lambda m, i, o, n=name: out.update({n: o})))
    try:
        with torch.no_grad():
            model.module(model.normalize(x))
    finally:
        for h in handles:
            h.remove()
    return {k: v.double() for k, v in out.items()}


def test_inversion_reaches_cosine_0_9(lite0):
    layer = "_blocks.6"
    v = fv.visualize(lite0, fv.activation_match(layer, "cat"), steps=96, **FAST)
    start = fv.visualize(lite0, fv.activation_match(layer, "cat"), steps=0, **FAST)
    target = _acts(lite0, _as_model_sees(lite0, _photo(lite0, "cat")), [layer])[layer]

    def cosine(images):
        a = _acts(lite0, _as_model_sees(lite0, images), [layer])[layer]
        return float(F.cosine_similarity(a.flatten(1), target.flatten(1))[0])

    got = cosine(v)
    assert got >= 0.9, got
    assert cosine(start) < 0.5  # it started from noise
    np.testing.assert_allclose(v.objective_values[0], got, atol=1e-3)


def _gram(a: torch.Tensor) -> torch.Tensor:
    f = a.flatten(2)
    return f @ f.transpose(1, 2) / f.shape[2]


def test_style_transfer_cuts_the_gram_loss_five_times(lite0):
    layers = ["_blocks.1", "_blocks.3", "_blocks.5", "_blocks.8"]
    obj = fv.content("_blocks.8", "cat") + fv.style(layers, "flower")
    start = fv.visualize(lite0, obj, steps=0, init="cat", **FAST)
    end = fv.visualize(lite0, obj, steps=64, lr=0.1, init="cat", **FAST)
    style = _acts(lite0, _as_model_sees(lite0, _photo(lite0, "flower")), layers)

    def gram_loss(images):
        a = _acts(lite0, _as_model_sees(lite0, images), layers)
        return sum(float(((_gram(a[n]) - _gram(style[n])) ** 2).mean()) for n in layers)

    before, after = gram_loss(start), gram_loss(end)
    assert after < before / 5, (before, after)
    # it started from the photo
    np.testing.assert_allclose(np.asarray(start)[0], _photo(lite0, "cat")[0], atol=1 / 255)


def test_accentuation_doubles_the_channel_and_stays_near_the_image(lite0):
    """``_blocks.8`` channel 56, reference ``_blocks.4``, default strength (0.02), 48 steps:
    the channel at least doubles while the reference activations move by at most half their
    norm on the image."""
    layer, ch, ref = "_blocks.8", 56, "_blocks.4"
    obj = fv.accentuate(f"{layer}:{ch}", "cat", reference=ref)
    end = fv.visualize(lite0, obj, steps=48, init="cat", **FAST)
    photo = _acts(lite0, _as_model_sees(lite0, _photo(lite0, "cat")), [layer, ref])
    after = _acts(lite0, _as_model_sees(lite0, end), [layer, ref])
    before_ch = float(photo[layer][0, ch].mean())
    after_ch = float(after[layer][0, ch].mean())
    distance = float((after[ref] - photo[ref]).norm() / photo[ref].norm())
    assert before_ch > 0 and after_ch >= 2 * before_ch, (before_ch, after_ch)
    assert distance <= 0.5, distance


def test_interpolation_ends_are_the_single_renders(lite0):
    """Same seed, same steps, standard transforms: image 0 of the interpolation is the render
    of ``a`` alone, image N-1 the render of ``b`` at position N-1, to the last bit."""
    a, b = "_blocks.8:3", "_blocks.8:56"
    settings = dict(steps=16, size=SIZE, input_size=INPUT, seed=3)
    mix = np.asarray(fv.visualize(lite0, fv.channel_interpolate(a, b), batch=4, **settings))
    alone = np.asarray(fv.visualize(lite0, a, **settings))
    at_end = np.asarray(fv.visualize(lite0, [a, a, a, b], **settings))
    np.testing.assert_array_equal(mix[0], alone[0])
    np.testing.assert_array_equal(mix[3], at_end[3])
    assert np.abs(mix[0] - mix[3]).max() > 0.1
    assert np.abs(mix[1] - alone[0]).max() > 0.01  # the middle images are their own
