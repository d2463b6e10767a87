"""LAION aesthetic predictor v2 (``improved-aesthetic-predictor``, Schuhmann 2022).

Score = MLP head on the L2-normalised CLIP ViT-L/14 image embedding; the prompt is
ignored. Trained by MSE on SAC + LOGOS + AVA ratings, so scores sit on their 1-10
scale (typical images 4-7). Head weights: ``sac+logos+ava1-l14-linearMSE.pth``, from a
local file or folder, or the hub copy ``camenduru/improved-aesthetic-predictor``;
a ``.safetensors`` file with the same keys works too.
"""

from __future__ import annotations

from typing import Any

import torch

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score.base import Scorer
from diffusion_dro.score.clip_models import CLIP_SCORE_MODEL, embed_images, load_clip_model
from diffusion_dro.score.head import PreferenceHead
from diffusion_dro.score.weights import read_state_dict, resolve_file

__all__ = ["AestheticScorer", "load_aesthetic"]

AESTHETIC_HEAD_REPO = "camenduru/improved-aesthetic-predictor"
AESTHETIC_HEAD_FILE = "sac+logos+ava1-l14-linearMSE.pth"


class AestheticScorer(Scorer):
    """``head(normalise(clip.image_embedding))``: prompt-independent aesthetic rating.

    Args:
        clip: a transformers ``CLIPModel`` whose projection width equals the head's input.
        head: the :class:`PreferenceHead`.
    """

    name = "aesthetic"

    def __init__(self, clip: Any, head: PreferenceHead, batch_size: int = 16) -> None:
        super().__init__(device=clip.device, dtype=clip.dtype, batch_size=batch_size)
        in_features = head.layers[0].in_features
        if clip.config.projection_dim != in_features:
            raise ModelLoadError(
                f"aesthetic: the head takes {in_features}-d embeddings but the CLIP model gives "
                f"{clip.config.projection_dim}-d. Use CLIP ViT-L/14 ({CLIP_SCORE_MODEL}) with this head."
            )
        self.clip = clip.eval().requires_grad_(False)
        self.head = head.to(clip.device, clip.dtype).eval().requires_grad_(False)

    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """(B,) ratings of images (B, 3, H, W) in [0, 1]; ``prompts`` are not used."""
        return self.head(embed_images(self.clip, images)).squeeze(-1)


def load_aesthetic(source: str | None = None, *, device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32, clip: str = CLIP_SCORE_MODEL,
                   batch_size: int = 16) -> AestheticScorer:
    """Aesthetic v2: head weights from ``source`` (file, folder or hub repo), CLIP from ``clip``."""
    path = resolve_file(source or AESTHETIC_HEAD_REPO, AESTHETIC_HEAD_FILE, "aesthetic")
    head = PreferenceHead.from_state_dict(read_state_dict(path, "aesthetic"), "aesthetic")
    model = load_clip_model(clip, "aesthetic (CLIP)", device, dtype)
    return AestheticScorer(model, head, batch_size=batch_size)
