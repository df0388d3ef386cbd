"""Class names of the data sets the bundled models know."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

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


INCEPTION5H_OUTPUTS = 1008


@lru_cache(maxsize=1)
def inception5h_labels() -> list[str]:
    """The names of the 1,008 outputs of lucid's InceptionV1 ("inception5h").

    ``inception5h_labels.txt`` is ``imagenet_comp_graph_label_strings.txt`` from TensorFlow's
    ``inception5h.zip`` (storage.googleapis.com/download.tensorflow.org/models/inception5h.zip),
    the list lucid's InceptionV1 uses: "dummy" at 0, then the 1,000 ImageNet classes in this
    network's own order (not torchvision's); copied verbatim, one name a line. The file names
    1,001 outputs and the graph has 1,008: the last seven, which no class is known for, are
    called "unused 1001" ... "unused 1007".
    """
    text = resources.files(__package__).joinpath("inception5h_labels.txt").read_text("utf-8")
    names = text.splitlines()
    return names + [f"unused {i}" for i in range(len(names), INCEPTION5H_OUTPUTS)]
