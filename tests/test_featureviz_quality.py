"""The quality bar on EfficientNet-Lite0: renders excite their channel far more than real
photos do, and the Fourier + decorrelated parameterization beats plain pixels.

Activations are measured independently of the engine: the render (or photo crop) resized
bilinearly to 224, normalised, a forward pass to the layer, mean over positions.
Few steps (32 at 128 px) already show both properties; a fixed seed makes them repeatable.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnwidgets as cw
from cnnwidgets.core import capture, preserved, run_until_captured

LAYER = "_blocks.8"  # a middle layer: 112 channels at 14 x 14
CHANNELS = [0, 1, 2, 3]
STEPS = 32

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # On a shared, busy CPU, intra-op threads spin against each other; one is steadier.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def channel_means(model, images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, C) mean activation of each channel of LAYER."""
    x = F.interpolate(
        images,
        size=model.input_size,
        mode="bilinear",
        align_corners=False,
        antialias=images.shape[-1] > model.input_size[-1],
    )
    means = []
    with (
        preserved(model.module),
        torch.inference_mode(),
        capture({LAYER: model.module_of(LAYER)}, stop_after_last=True) as store,
    ):
        for i in range(0, len(x), 16):
            # the layer's output is all we read: end the forward pass there
            run_until_captured(lambda: model.module(model.normalize(x[i : i + 16])))
            means.append(store[LAYER].mean((2, 3)))
    return torch.cat(means)


def photo_crops() -> torch.Tensor:
    """Every bundled photo at three crop sizes (whole, 60 %, 35 % of the short side), each
    on a 3 x 3 grid of positions: 216 crops, each as the model would see it."""
    crops = []
    for name in cw.sample_names():
        img = np.array(cw.load_image(name).convert("RGB"), dtype=np.float32) / 255
        t = torch.from_numpy(img).permute(2, 0, 1)
        h, w = t.shape[1:]
        for frac in (1.0, 0.6, 0.35):
            s = int(min(h, w) * frac)
            for y in np.linspace(0, h - s, 3).astype(int):
                for x in np.linspace(0, w - s, 3).astype(int):
                    crops.append(
                        F.interpolate(
                            t[None, :, y : y + s, x : x + s],
                            size=(224, 224),
                            mode="bilinear",
                            antialias=True,
                            align_corners=False,
                        )
                    )
    return torch.cat(crops)


def rendered(model, **kwargs) -> torch.Tensor:
    v = cw.visualize(
        model, [f"{LAYER}:{c}" for c in CHANNELS], steps=STEPS, size=128, seed=0, **kwargs
    )
    return torch.from_numpy(np.asarray(v)).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def fft_values(lite0):
    acts = channel_means(lite0, rendered(lite0))
    return acts[range(len(CHANNELS)), CHANNELS]


def test_renders_beat_the_best_photo_crop_twice(lite0, fft_values):
    best_photo = channel_means(lite0, photo_crops())[:, CHANNELS].max(0).values
    assert (best_photo > 0).all()
    ratio = fft_values / best_photo
    assert (ratio >= 2.0).all(), f"render / best photo crop per channel: {ratio.tolist()}"


def test_fourier_decorrelated_beats_pixels(lite0, fft_values):
    pixel = channel_means(lite0, rendered(lite0, param="pixel", decorrelate=False))
    pixel_values = pixel[range(len(CHANNELS)), CHANNELS]
    assert fft_values.mean() > 1.05 * pixel_values.mean(), (
        fft_values.tolist(),
        pixel_values.tolist(),
    )
