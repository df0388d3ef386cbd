"""Model zoo and the Model wrapper."""

from .labels import IMAGENETTE_LABELS, imagenet_labels
from .output import select_output
from .simple_cnn import SimpleCNN
from .wrapper import Model
from .zoo import WeightsUnavailableError, load_model

__all__ = [
    "Model",
    "load_model",
    "SimpleCNN",
    "select_output",
    "imagenet_labels",
    "IMAGENETTE_LABELS",
    "WeightsUnavailableError",
]
