"""Images and data sets."""

from . import datasets
from .images import ImageLoadError, load_image, sample_names

__all__ = ["load_image", "sample_names", "ImageLoadError", "datasets"]
