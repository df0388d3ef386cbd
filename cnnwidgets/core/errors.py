"""The library's own error types: every failure cnnwidgets detects in its input raises one of
these, so callers (and the property tests) can tell "the library refused this input" from a bug.
Each also derives from the built-in type a caller would expect (``ValueError``, ``TypeError``),
so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class CNNWidgetsError(Exception):
    """Base of every error cnnwidgets raises on purpose."""


class InputError(CNNWidgetsError, ValueError):
    """An input tensor or image that the engines cannot use (empty, NaN, wrong shape...)."""


class ParameterError(CNNWidgetsError, ValueError):
    """A method or parameter that does not exist, or a value outside its range."""


class ModelError(CNNWidgetsError, ValueError):
    """A model that a view cannot show (no layer with a spatial output, no convolution...)."""


class ModelOutputError(CNNWidgetsError, ValueError):
    """Logits that cannot be picked with certainty from what a model returns, or an
    ``output=`` selector that does not fit it; the message shows the output's structure."""
