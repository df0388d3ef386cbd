"""The fixed inputs every comparison shares: real photos, preprocessed once per model."""

from __future__ import annotations

import torch

import cnnwidgets as cw

# The offline photos that ship with scikit-image and scikit-learn (see cw.sample_names()).
SAMPLES = ("cat", "coffee", "astronaut", "rocket", "coins", "camera", "china", "flower")


def photo_batch(model, n: int) -> torch.Tensor:
    """``n`` preprocessed photos: the bundled samples, then their mirror images, then repeats.

    Real photos rather than noise, so that the pretrained model's maps have structure that two
    implementations can disagree on.
    """
    base = model.preprocess([cw.load_image(s) for s in SAMPLES])
    pool = torch.cat([base, base.flip(-1)])
    reps = -(-n // len(pool))
    return pool.repeat(reps, 1, 1, 1)[:n].contiguous()


def top_classes(model, x: torch.Tensor) -> list[int]:
    """Each image's top class, decided once so that ours and the peer explain the same one."""
    with torch.inference_mode():
        was = model.module.training
        model.module.eval()
        try:
            return [int(i) for i in model.logits(x).argmax(-1)]
        finally:
            model.module.train(was)


def random_images(model, n: int, size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return model.normalize(torch.rand(n, model.in_channels, size, size, generator=g)).to(
        model.device
    )
