"""Class names of the data sets the bundled models know."""

from __future__ import annotations

from functools import lru_cache

# ImageNette's ten classes, in the order torchvision.datasets.Imagenette uses (its WNIDs sorted).
IMAGENETTE_WNIDS = [
    "n01440764",
    "n02102040",
    "n02979186",
    "n03000684",
    "n03028079",
    "n03394916",
    "n03417042",
    "n03425413",
    "n03445777",
    "n03888605",
]
IMAGENETTE_LABELS = [
    "tench",
    "English springer",
    "cassette player",
    "chain saw",
    "church",
    "French horn",
    "garbage truck",
    "gas pump",
    "golf ball",
    "parachute",
]
# Their indices among the 1,000 ImageNet classes, for scoring ImageNette with an ImageNet model.
IMAGENETTE_IMAGENET_INDICES = [0, 217, 482, 491, 497, 566, 569, 571, 574, 701]

DIGITS_LABELS = [str(d) for d in range(10)]


@lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """The 1,000 ImageNet-1k class names, as torchvision ships them."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)
