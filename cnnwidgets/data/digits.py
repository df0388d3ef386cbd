"""scikit-learn's bundled handwritten digits as a torch data set: the offline training data.

1797 real scans of handwritten digits (UCI "Optical Recognition of Handwritten Digits"), 8 x 8
pixels with 17 grey levels, 10 classes. They ship inside scikit-learn, so training runs with no
network. Images are scaled to [0, 1], upsampled to ``size`` (the 8 x 8 originals are too small
for three 2 x 2 poolings) and normalised with ``mean`` / ``std``, as ``Model.normalize`` does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

DIGITS_LABELS = [str(i) for i in range(10)]
DIGITS_MEAN = (0.5,)
DIGITS_STD = (0.5,)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32) / 16.0, bunch.target.astype(np.int64)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, stratification-free random split: same seed, same split on every machine."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def digits_datasets(
    size: int = 16, val_fraction: float = 0.2, seed: int = 0, mean=DIGITS_MEAN, std=DIGITS_STD
) -> tuple[TensorDataset, TensorDataset]:
    """(train, validation) data sets of (image (1, size, size), label) pairs, model-ready."""
    if size < 8:
        raise ValueError(f"size must be at least 8 (the digits are 8 x 8), got {size}")
    images, labels = _digits_arrays()
    x = torch.from_numpy(images)[:, None]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    y = torch.from_numpy(labels)
    train, val = split_indices(len(y), val_fraction, seed)
    return TensorDataset(x[train], y[train]), TensorDataset(x[val], y[val])


def digits_loaders(
    batch_size: int = 64,
    size: int = 16,
    val_fraction: float = 0.2,
    seed: int = 0,
    mean=DIGITS_MEAN,
    std=DIGITS_STD,
) -> tuple[DataLoader, DataLoader]:
    """(train, validation) DataLoaders; the training order is shuffled from ``seed`` alone."""
    train, val = digits_datasets(size, val_fraction, seed, mean, std)
    gen = torch.Generator().manual_seed(seed)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, generator=gen),
        DataLoader(val, batch_size=256, shuffle=False),
    )


def digits_images(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The raw digits as (N, 8, 8) floats in [0, 1] and their labels, for showing them."""
    images, labels = _digits_arrays()
    return (images, labels) if n is None else (images[:n], labels[:n])
