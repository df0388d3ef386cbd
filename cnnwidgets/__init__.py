"""cnnwidgets: Jupyter widgets that show how convolutional networks see."""
from .data import ImageLoadError, load_image, sample_names
from .engines.attribution import Attribution
from .engines.cam import cam
from .engines.featuremaps import feature_maps, top_channels
from .engines.filters import NotAConvLayerError, filters
from .engines.layers import LayerNotFoundError
from .engines.saliency import saliency
from .models import Model, load_model

__version__ = "0.1.0"
__all__ = ["load_model", "load_image", "sample_names", "Model", "LayerNotFoundError",
           "ImageLoadError", "filters", "NotAConvLayerError", "feature_maps", "top_channels",
           "Attribution", "saliency", "cam"]

from .widgets import FeatureMapViewer  # noqa: E402
from .widgets import FilterViewer, GradCAMViewer, SaliencyViewer  # noqa: E402
from .widgets import FeatureVisualizer  # noqa: E402
from .widgets import SpectrumViewer  # noqa: E402
from .widgets import Explorer  # noqa: E402

__all__ += ["FeatureMapViewer"]
__all__ += ["FilterViewer", "GradCAMViewer", "SaliencyViewer"]
__all__ += ["FeatureVisualizer"]
__all__ += ["SpectrumViewer"]
__all__ += ["Explorer"]

from .data import datasets  # noqa: E402
from .engines.spectrum import (ActivationSpectrum, pre_activation_layer,  # noqa: E402
                               pre_activation_layers)

__all__ += ["datasets", "ActivationSpectrum", "pre_activation_layer", "pre_activation_layers"]

from .engines.training import train  # noqa: E402
from .widgets.convolution import ConvolutionExplorer  # noqa: E402
from .widgets.training import TrainingMonitor  # noqa: E402

__all__ += ["train", "TrainingMonitor", "ConvolutionExplorer"]

from .engines import featureviz  # noqa: E402
from .engines.featureviz import visualize  # noqa: E402

__all__ += ["featureviz", "visualize"]
