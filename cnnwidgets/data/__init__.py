"""Images and data sets."""
from .images import ImageLoadError, load_image, sample_names

__all__ = ["load_image", "sample_names", "ImageLoadError"]
