"""What every engine needs from a model, without knowing the model zoo.

:class:`cnnwidgets.Model` (in ``cnnwidgets.models``) is the one implementation; engines take
any :class:`ModelBase` through :func:`as_model`, so the core and the engines never import the
zoo (imports flow one way: core <- models <- engines).
"""

from __future__ import annotations

from typing import Any

from torch import nn


class ModelBase:
    """A classifier with its preprocessing, labels and inspectable layers.

    Subclasses provide: ``module`` (the ``nn.Module``), ``device``, ``dtype``,
    ``channels_last``, ``in_channels``, ``input_size``, ``labels``, ``num_classes``,
    ``layer_info`` / ``layers`` / ``layer_names`` / ``spatial_layers`` / ``check_layer`` /
    ``resolve_layer`` (a name -> ``(module, call)`` for the hooks; ``"name@k"`` names the
    k-th call of a module that runs several times) / ``module_of``, ``prepare`` (images ->
    checked ready input), ``normalize`` / ``denormalize`` and ``logits``.
    """

    module: nn.Module


def as_model(model: Any) -> ModelBase:
    """The model behind ``model``; a bare module or anything else gets a clear error."""
    if isinstance(model, ModelBase):
        return model
    if isinstance(model, nn.Module):
        raise TypeError(
            "engines take a cnnwidgets Model, which knows the preprocessing: wrap "
            "the module first with cw.load_model(module, mean=..., std=..., "
            "input_size=...)"
        )
    raise TypeError(
        f"expected a cnnwidgets Model (cw.load_model(...)), got a {type(model).__name__}"
    )
