"""The exception tree of diffusion-dro.

``DroError`` is the root; catch it to handle every error this package raises on
purpose. ``InputError`` (also a ``ValueError``) means the user gave something
that cannot work: its message names the input, the rule, the value and the fix.
"""

from __future__ import annotations

__all__ = ["DroError", "InputError", "ModelLoadError"]


class DroError(Exception):
    """Root of every error diffusion-dro raises deliberately."""


class InputError(DroError, ValueError):
    """A user-supplied value, file or folder cannot be used as given."""


class ModelLoadError(InputError):
    """A model reference (``toy``, folder or hub id) or adapter could not be loaded."""
