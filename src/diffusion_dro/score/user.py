"""A user-supplied scorer: any callable ``fn(images, prompts) -> scores`` named as
``package.module:function`` or ``path/to/file.py:function``.

The callable receives images (B, 3, H, W) in [0, 1] on the scorer's device and B
prompts, and must return B numbers (tensor, array or list), higher being better.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import torch

from diffusion_dro.errors import InputError, ModelLoadError
from diffusion_dro.score.base import Scorer

__all__ = ["UserScorer", "import_callable", "load_user_scorer"]


def import_callable(reference: str) -> Callable:
    """Import ``module:attr`` or ``file.py:attr`` (``attr`` may be dotted, e.g. ``Class.method``).

    Raises:
        InputError: the reference is malformed or names nothing callable.
    """
    module_name, sep, attr = reference.rpartition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"user scorer must be given as 'module:function' or 'file.py:function'; got {reference!r}.")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser()
            if not path.is_file():
                raise InputError(f"user scorer file {str(path)!r} does not exist.")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except Exception as err:
        raise ModelLoadError(f"user scorer: could not import {module_name!r} ({type(err).__name__}: {err}).") from err
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise InputError(f"user scorer: {module_name!r} has no attribute {attr!r}.")
        target = getattr(target, part)
    if not callable(target):
        raise InputError(f"user scorer: {reference!r} is a {type(target).__name__}, not a callable.")
    return target


class UserScorer(Scorer):
    """Wraps ``fn(images, prompts)``; checks that it returns one finite-shaped score per image."""

    def __init__(self, fn: Callable, reference: str, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, batch_size: int = 16) -> None:
        super().__init__(device=device, dtype=dtype, batch_size=batch_size)
        self.fn = fn
        self.reference = reference
        self.name = "user"

    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """(B,) scores from the user's callable."""
        scores = self.fn(images, prompts)
        scores = scores if isinstance(scores, torch.Tensor) else torch.as_tensor(scores, dtype=torch.float32)
        if scores.shape != (images.shape[0],):
            raise InputError(
                f"user scorer {self.reference!r} must return {images.shape[0]} scores (shape ({images.shape[0]},)); "
                f"got shape {tuple(scores.shape)}."
            )
        return scores


def load_user_scorer(source: str | None = None, *, device: str | torch.device = "cpu",
                     dtype: torch.dtype = torch.float32, batch_size: int = 16) -> UserScorer:
    """The ``user`` scorer: ``source`` is the callable's reference, ``module:function``."""
    if not source:
        raise InputError("the 'user' scorer needs source='module:function' (the callable to score with).")
    return UserScorer(import_callable(source), source, device=device, dtype=dtype, batch_size=batch_size)
