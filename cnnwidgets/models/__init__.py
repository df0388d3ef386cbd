"""Model zoo and the Model wrapper."""

from .inceptionv1 import InceptionV1, InceptionV1WeightsError
from .labels import IMAGENETTE_LABELS, imagenet_labels, inception5h_labels
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
    "InceptionV1",
    "InceptionV1WeightsError",
    "inception5h_labels",
]
