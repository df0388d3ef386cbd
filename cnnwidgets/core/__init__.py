"""What every other part of cnnwidgets stands on, importing none of them: the guard (a model is
left as found, one lock per model), layer discovery and scoped hooks, input batches and their
layout, target resolution, error types, the registry type of the engines and the progress/cancel
channel through which long engine calls report to whoever runs them.

Imports flow one way: core <- data <- models <- engines <- render <- widgets (see
docs/architecture.md); ``tests/test_architecture.py`` checks it.
"""

from .errors import CNNWidgetsError, InputError, ModelError, ModelOutputError, ParameterError
from .guard import model_lock, preserved
from .hooks import StopForward, capture, forward_hooks, run_until_captured
from .layers import AmbiguousLayerError, LayerInfo, LayerNotFoundError, LayerTable, probe_layers
from .model_base import ModelBase, as_model
from .progress import Cancelled, check_cancelled, part, progress_scope, report
from .registry import Entry, Param, Registry

__all__ = [
    "CNNWidgetsError",
    "InputError",
    "ParameterError",
    "ModelError",
    "ModelOutputError",
    "model_lock",
    "preserved",
    "StopForward",
    "capture",
    "forward_hooks",
    "run_until_captured",
    "LayerInfo",
    "LayerNotFoundError",
    "AmbiguousLayerError",
    "LayerTable",
    "probe_layers",
    "ModelBase",
    "as_model",
    "Entry",
    "Param",
    "Registry",
    "Cancelled",
    "progress_scope",
    "report",
    "part",
    "check_cancelled",
]
