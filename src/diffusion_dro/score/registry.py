"""The one dict of scorers; the CLI lists ``sorted(SCORERS)`` and ``load_scorer`` dispatches on it.

Every factory takes ``(source=None, *, device, dtype, **options)`` and returns a
:class:`~diffusion_dro.score.base.Scorer`; ``source=None`` means the scorer's
default hub weights. Add a scorer by adding its factory here (or with
:func:`register_scorer` from outside the package). Names are checked before any
weights load.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from diffusion_dro.errors import InputError
from diffusion_dro.score.aesthetic import load_aesthetic
from diffusion_dro.score.base import Scorer
from diffusion_dro.score.clip_models import load_clip_score, load_pickscore
from diffusion_dro.score.hpsv2 import load_hpsv2
from diffusion_dro.score.imagereward import load_imagereward
from diffusion_dro.score.toy import load_toy_adherence, load_toy_taste
from diffusion_dro.score.user import load_user_scorer

__all__ = ["SCORERS", "ScorerFactory", "check_scorer_name", "load_scorer", "register_scorer"]

ScorerFactory = Callable[..., Scorer]

SCORERS: dict[str, ScorerFactory] = {
    "aesthetic": load_aesthetic,
    "clip-score": load_clip_score,
    "hpsv2": partial(load_hpsv2, version="v2.0"),
    "hpsv2.1": partial(load_hpsv2, version="v2.1"),
    "imagereward": load_imagereward,
    "pickscore": load_pickscore,
    "toy-adherence": load_toy_adherence,
    "toy-taste": load_toy_taste,
    "user": load_user_scorer,
}


def check_scorer_name(name: str) -> None:
    """Raise :class:`InputError` listing the known names if ``name`` is not in :data:`SCORERS`."""
    if name not in SCORERS:
        raise InputError(f"unknown scorer {name!r}; choose one of {sorted(SCORERS)}.")


def register_scorer(name: str, factory: ScorerFactory) -> None:
    """Add ``factory`` under ``name``; re-registering a name is an error, to keep choices unambiguous."""
    if name in SCORERS:
        raise InputError(f"scorer name {name!r} is already registered; pick another name.")
    SCORERS[name] = factory


def load_scorer(name: str, source: str | None = None, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32, **options: Any) -> Scorer:
    """Build the scorer registered as ``name``.

    Args:
        name: a key of :data:`SCORERS`.
        source: weights as a hub id, local folder or file (``module:function`` for ``user``);
            ``None`` for the scorer's default.
        device, dtype: where and in what precision the weights live.
        **options: scorer-specific keywords (e.g. ``tokenizer=``, ``clip=``, ``batch_size=``).

    Raises:
        InputError: unknown ``name``; ModelLoadError: weights could not be found or read.
    """
    check_scorer_name(name)
    scorer = SCORERS[name](source, device=device, dtype=dtype, **options)
    scorer.name = name
    return scorer
