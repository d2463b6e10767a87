"""Scorers behind one interface, ``scorer(images, prompts) -> Tensor[B]`` (higher is better).

``images`` are (B, 3, H, W) RGB floats in [0, 1], ``prompts`` B strings; scores come
back as float32 on the CPU. Pick a scorer by name with :func:`load_scorer`; the
names are ``sorted(SCORERS)``. No weights load at import.
"""

from diffusion_dro.score.aesthetic import AestheticScorer
from diffusion_dro.score.base import Scorer, check_inputs
from diffusion_dro.score.clip_models import ClipSimilarityScorer
from diffusion_dro.score.head import PreferenceHead
from diffusion_dro.score.hpsv2 import open_clip_to_transformers
from diffusion_dro.score.imagereward import ImageRewardScorer, blip_to_transformers
from diffusion_dro.score.registry import SCORERS, ScorerFactory, check_scorer_name, load_scorer, register_scorer
from diffusion_dro.score.user import UserScorer

__all__ = [
    "SCORERS",
    "AestheticScorer",
    "ClipSimilarityScorer",
    "ImageRewardScorer",
    "PreferenceHead",
    "Scorer",
    "ScorerFactory",
    "UserScorer",
    "blip_to_transformers",
    "check_inputs",
    "check_scorer_name",
    "load_scorer",
    "open_clip_to_transformers",
    "register_scorer",
]
