"""CLIP-based scorers on a transformers ``CLIPModel``: PickScore and CLIP score.

Both embed the image and the prompt, L2-normalise, and take the cosine:

- PickScore (Kirstain et al. 2023, ``yuvalkirstain/PickScore_v1``, a fine-tuned
  CLIP-H/14): ``logit_scale.exp() * cos``, about 18-24 for typical images.
- CLIP score (Hessel et al. 2021, ``openai/clip-vit-large-patch14``): the
  standard ``100 * max(cos, 0)``, about 15-35.

``embed_images`` and ``embed_texts`` are shared with the aesthetic and HPSv2 scorers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score.base import Scorer
from diffusion_dro.score.preprocess import to_model_pixels
from diffusion_dro.score.weights import load_tokenizer, resolve_folder, tokenizer_source

__all__ = [
    "ClipSimilarityScorer", "embed_images", "embed_texts", "load_clip_model", "load_clip_score", "load_pickscore",
]

PICKSCORE_MODEL = "yuvalkirstain/PickScore_v1"
PICKSCORE_PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
CLIP_SCORE_MODEL = "openai/clip-vit-large-patch14"


def _features(output: Any) -> torch.Tensor:
    # transformers < 5 returns the projected features; 5.x returns an output object holding them.
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def embed_images(model: Any, images: torch.Tensor) -> torch.Tensor:
    """Unit-norm CLIP image embeddings (B, D) of images (B, 3, H, W) in [0, 1]."""
    pixels = to_model_pixels(images, model.config.vision_config.image_size)
    return F.normalize(_features(model.get_image_features(pixel_values=pixels)), dim=-1)


def embed_texts(model: Any, tokenizer: Any, prompts: list[str]) -> torch.Tensor:
    """Unit-norm CLIP text embeddings (B, D) of B prompts, padded/truncated to the model's context length."""
    tokens = tokenizer(prompts, padding="max_length", truncation=True,
                       max_length=model.config.text_config.max_position_embeddings, return_tensors="pt")
    input_ids = tokens["input_ids"].to(model.device)
    return F.normalize(_features(model.get_text_features(input_ids=input_ids)), dim=-1)


class ClipSimilarityScorer(Scorer):
    """``scale * cos(image, prompt)`` on a ``CLIPModel``, optionally clamped at 0.

    Args:
        model: a transformers ``CLIPModel`` (frozen and put in eval mode here).
        tokenizer: its tokenizer (a ``CLIPTokenizer`` or compatible callable).
        scale: ``"logit_scale"`` for the model's learnt ``logit_scale.exp()``, or a number.
        clamp_zero: take ``max(cos, 0)`` first, as the CLIP-score definition does.
    """

    def __init__(self, model: Any, tokenizer: Any, name: str, scale: float | str = 100.0,
                 clamp_zero: bool = False, batch_size: int = 16) -> None:
        super().__init__(device=model.device, dtype=model.dtype, batch_size=batch_size)
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.name = name
        self.scale = scale
        self.clamp_zero = clamp_zero

    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """(B,) scaled cosines of images (B, 3, H, W) in [0, 1] and B prompts."""
        cos = (embed_images(self.model, images) * embed_texts(self.model, self.tokenizer, prompts)).sum(-1)
        if self.clamp_zero:
            cos = cos.clamp(min=0.0)
        scale = self.model.logit_scale.exp() if self.scale == "logit_scale" else self.scale
        return scale * cos


def load_clip_model(source: str, what: str, device: str | torch.device, dtype: torch.dtype) -> Any:
    """``CLIPModel.from_pretrained`` from a local folder or hub id, errors naming the scorer."""
    from transformers import CLIPModel

    source = resolve_folder(source, what)
    try:
        model = CLIPModel.from_pretrained(source, dtype=dtype)
    except Exception as err:
        raise ModelLoadError(
            f"{what}: could not load a CLIPModel from {source!r} ({type(err).__name__}: {err}). "
            "Pass a folder saved by CLIPModel.save_pretrained or a hub id you can reach."
        ) from err
    return model.to(device)


def load_pickscore(source: str | None = None, *, device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32, tokenizer: str | None = None,
                   batch_size: int = 16) -> ClipSimilarityScorer:
    """PickScore: ``logit_scale.exp() * cos`` of ``yuvalkirstain/PickScore_v1`` (or ``source``).

    The tokenizer comes from ``tokenizer``, else from ``source`` if it is a folder with
    tokenizer files, else from ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``.
    """
    model = load_clip_model(source or PICKSCORE_MODEL, "pickscore", device, dtype)
    tok = load_tokenizer(tokenizer_source(source, tokenizer, PICKSCORE_PROCESSOR), "pickscore")
    return ClipSimilarityScorer(model, tok, name="pickscore", scale="logit_scale", batch_size=batch_size)


def load_clip_score(source: str | None = None, *, device: str | torch.device = "cpu",
                    dtype: torch.dtype = torch.float32, tokenizer: str | None = None,
                    batch_size: int = 16) -> ClipSimilarityScorer:
    """CLIP score: ``100 * max(cos, 0)`` with ``openai/clip-vit-large-patch14`` (or ``source``)."""
    source = source or CLIP_SCORE_MODEL
    model = load_clip_model(source, "clip-score", device, dtype)
    tok = load_tokenizer(tokenizer_source(source, tokenizer, source), "clip-score")
    return ClipSimilarityScorer(model, tok, name="clip-score", scale=100.0, clamp_zero=True, batch_size=batch_size)
