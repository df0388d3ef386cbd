"""cnnwidgets: Jupyter widgets that show how convolutional networks see.

Engines (``cw.filters``, ``cw.feature_maps``, ``cw.saliency``, ``cw.cam``, ``cw.visualize``,
``cw.ActivationSpectrum``, ``cw.train``) work headless and return numpy arrays; the widgets
(``cw.GradCAMViewer`` and friends) call them and draw the results in Jupyter.
"""

from . import allocator

allocator.apply_default()  # before any tensor work: see cnnwidgets/allocator.py

# models and data
# the atlas
from .atlas import build_atlas, load_atlas
from .core import CNNWidgetsError, LayerNotFoundError
from .data import ImageLoadError, datasets, load_image, sample_names

# engines
from .engines import featureviz
from .engines.activation_grid import ActivationGrid, activation_grid
from .engines.cam import CAM_METHODS as cam_methods
from .engines.cam import cam
from .engines.faithfulness import Faithfulness, faithfulness
from .engines.featuremaps import feature_maps, top_channels
from .engines.featureviz import visualize
from .engines.filters import NotAConvLayerError, filters
from .engines.maps import Attribution
from .engines.saliency import SALIENCY_METHODS as saliency_methods
from .engines.saliency import saliency
from .engines.sanity import randomized_copy, rank_correlation
from .engines.spectrum import ActivationSpectrum, pre_activation_layer, pre_activation_layers
from .engines.training import train
from .models import Model, load_model

# widgets
from .widgets import (
    ActivationGridViewer,
    AtlasViewer,
    Explorer,
    FeatureMapViewer,
    FeatureVisualizer,
    FilterViewer,
    GradCAMViewer,
    SaliencyViewer,
    SpectrumViewer,
)
from .widgets.convolution import ConvolutionExplorer
from .widgets.training import TrainingMonitor

__version__ = "0.1.0"
__all__ = [
    "load_model",
    "Model",
    "load_image",
    "sample_names",
    "datasets",
    "ImageLoadError",
    "CNNWidgetsError",
    "LayerNotFoundError",
    "NotAConvLayerError",
    "filters",
    "feature_maps",
    "top_channels",
    "saliency",
    "cam",
    "Attribution",
    "saliency_methods",
    "cam_methods",
    "faithfulness",
    "Faithfulness",
    "randomized_copy",
    "rank_correlation",
    "visualize",
    "featureviz",
    "activation_grid",
    "ActivationGrid",
    "ActivationSpectrum",
    "pre_activation_layer",
    "pre_activation_layers",
    "train",
    "build_atlas",
    "load_atlas",
    "FilterViewer",
    "FeatureMapViewer",
    "SaliencyViewer",
    "GradCAMViewer",
    "FeatureVisualizer",
    "SpectrumViewer",
    "TrainingMonitor",
    "ConvolutionExplorer",
    "Explorer",
    "ActivationGridViewer",
    "AtlasViewer",
]
