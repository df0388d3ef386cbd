"""The errors an atlas build or load raises on purpose, each with a message a user can act on."""

from __future__ import annotations

from ..core.errors import CNNWidgetsError


class AtlasError(CNNWidgetsError, RuntimeError):
    """Base class: something about the atlas request, its data or its directory is wrong."""


class AtlasMismatchError(AtlasError):
    """The output directory holds (part of) an atlas of another model, layers, data or settings.

    Mixing two builds in one directory would give an atlas whose pictures and examples come
    from different things, so the build stops instead.
    """


class AtlasIncompleteError(AtlasError):
    """``load_atlas`` on a directory whose build has not finished (or never started)."""


class EmptyDataError(AtlasError):
    """The data source holds no (readable) image."""


class DataChangedError(AtlasError):
    """The data source gave other images on a later pass (or a resumed run) than before."""


class DiskFullError(AtlasError, OSError):
    """A write failed because the disk (or the quota) is full; nothing half-written is left."""
