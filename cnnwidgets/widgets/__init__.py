"""The widgets: thin anywidget classes that turn control traits into engine calls and pictures."""
from .base import BackgroundWidget, CNNWidget, Debouncer, WidgetError, bundle
from .feature_maps import FeatureMapViewer
from .filters import FilterViewer

__all__ = ["CNNWidget", "BackgroundWidget", "Debouncer", "WidgetError", "bundle",
           "FeatureMapViewer", "FilterViewer"]
