"""Dataset examples: a streaming tracker of the images that drive each channel up, down, or
barely (see :mod:`.tracker`), and what it stands on."""

from .columns import COLUMNS
from .preactivation import ACTIVATIONS, pre_activation_layer, pre_activation_layers
from .receptive_field import receptive_field
from .tracker import ActivationSpectrum, Example

__all__ = [
    "ActivationSpectrum",
    "Example",
    "COLUMNS",
    "ACTIVATIONS",
    "pre_activation_layer",
    "pre_activation_layers",
    "receptive_field",
]
