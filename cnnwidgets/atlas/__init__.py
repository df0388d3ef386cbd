"""Atlas: every channel of some layers of a model - feature visualizations, dataset examples,
connections - built once (alone or under torchrun), stored on disk, browsed without the model.

``cw.build_atlas(model, out_dir, layers, data=...)`` builds (and resumes) one;
``cw.load_atlas(out_dir)`` reads it; ``python -m cnnwidgets.atlas`` is the command line.
"""

from .build import build_atlas, parse_channels
from .errors import (
    AtlasError,
    AtlasIncompleteError,
    AtlasMismatchError,
    DataChangedError,
    DiskFullError,
    EmptyDataError,
)
from .examples import AtlasExample
from .load import Atlas, AtlasChannel, Connection, load_atlas

__all__ = [
    "build_atlas",
    "load_atlas",
    "Atlas",
    "AtlasChannel",
    "AtlasExample",
    "Connection",
    "AtlasError",
    "AtlasMismatchError",
    "AtlasIncompleteError",
    "EmptyDataError",
    "DataChangedError",
    "DiskFullError",
    "parse_channels",
]
