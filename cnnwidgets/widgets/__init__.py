"""The widgets: thin anywidget classes that turn control traits into engine calls and pictures."""

from .activation_grid import ActivationGridViewer
from .atlas import AtlasViewer
from .base import BackgroundWidget, CNNWidget, Debouncer, WidgetError, bundle
from .explorer import Explorer
from .feature_maps import FeatureMapViewer
from .feature_visualizer import FeatureVisualizer
from .filters import FilterViewer
from .gradcam import GradCAMViewer
from .saliency import SaliencyViewer
from .spectrum import SpectrumViewer

__all__ = [
    "CNNWidget",
    "BackgroundWidget",
    "Debouncer",
    "WidgetError",
    "bundle",
    "FeatureMapViewer",
    "FilterViewer",
    "GradCAMViewer",
    "SaliencyViewer",
    "FeatureVisualizer",
    "SpectrumViewer",
    "Explorer",
    "ActivationGridViewer",
    "AtlasViewer",
]
