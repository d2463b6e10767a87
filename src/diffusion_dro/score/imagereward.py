"""ImageReward v1.0 (Xu et al. 2023): BLIP ViT-L image encoder + BERT text encoder with
cross-attention to the image + MLP head on the text [CLS] feature.

Score = (head(cls) - 0.16717362830052426) / 1.0333394966054072, ImageReward's own
standardisation: about -2..2, 0 being an average generated image.

Weights: ``THUDM/ImageReward`` file ``ImageReward.pt``, a flat state dict with keys
``blip.visual_encoder.*`` (timm-style ViT), ``blip.text_encoder.*`` (BLIP's ``med``
BERT) and ``mlp.layers.*``. :func:`blip_to_transformers` maps them onto transformers'
``BlipVisionModel`` and ``BlipTextModel`` (no pooler); other ``blip.*`` keys
(``vision_proj``, ``text_proj``) are not used for scoring and skipped. Prompts are
tokenised by ``bert-base-uncased`` plus ``[DEC]`` and ``[ENC]`` (vocabulary 30524),
padded to 35 tokens, as ImageReward does.
"""

from __future__ import annotations

from typing import Any

import torch

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score.base import Scorer
from diffusion_dro.score.head import PreferenceHead
from diffusion_dro.score.preprocess import to_model_pixels
from diffusion_dro.score.weights import load_tokenizer, read_state_dict, resolve_file, tokenizer_source

__all__ = ["ImageRewardScorer", "blip_to_transformers", "imagereward_configs", "load_imagereward"]

IMAGEREWARD_REPO = "THUDM/ImageReward"
IMAGEREWARD_FILE = "ImageReward.pt"
IMAGEREWARD_TOKENIZER = "bert-base-uncased"
IMAGEREWARD_MEAN = 0.16717362830052426
IMAGEREWARD_STD = 1.0333394966054072
MAX_PROMPT_TOKENS = 35

_VISION_RENAMES = (
    ("cls_token", "embeddings.class_embedding"),
    ("pos_embed", "embeddings.position_embedding"),
    ("patch_embed.proj.", "embeddings.patch_embedding."),
    ("norm.", "post_layernorm."),
)
_VISION_BLOCK_PARTS = (
    ("norm1.", "layer_norm1."), ("norm2.", "layer_norm2."), ("attn.qkv.", "self_attn.qkv."),
    ("attn.proj.", "self_attn.projection."), ("mlp.fc1.", "mlp.fc1."), ("mlp.fc2.", "mlp.fc2."),
)


def _vision_key(key: str) -> str | None:
    if key.startswith("blocks."):
        index, rest = key[len("blocks."):].split(".", 1)
        for old, new in _VISION_BLOCK_PARTS:
            if rest.startswith(old):
                return f"encoder.layers.{index}.{new}{rest[len(old):]}"
        return None
    for old, new in _VISION_RENAMES:
        if key == old or (old.endswith(".") and key.startswith(old)):
            return new + key[len(old):]
    return None


def blip_to_transformers(state: dict[str, torch.Tensor]) -> tuple[dict, dict, dict]:
    """Split an ``ImageReward.pt`` state dict into (vision, text, head) state dicts for
    ``BlipVisionModel``, ``BlipTextModel(add_pooling_layer=False)`` and :class:`PreferenceHead`.

    Raises:
        ModelLoadError: a visual-encoder key has no counterpart (not a BLIP ViT checkpoint).
    """
    vision, text, head, unknown = {}, {}, {}, []
    for key, value in state.items():
        if key.startswith("blip.visual_encoder."):
            new = _vision_key(key[len("blip.visual_encoder."):])
            if new is None:
                unknown.append(key)
            else:
                vision[new] = value
        elif key.startswith("blip.text_encoder."):
            rest = key[len("blip.text_encoder."):]
            if rest != "embeddings.position_ids":  # a buffer BlipTextModel rebuilds
                text[rest] = value  # BLIP's med BERT and BlipTextModel share names
        elif key.startswith("mlp."):
            head[key[len("mlp."):]] = value
    if unknown:
        raise ModelLoadError(f"imagereward: visual-encoder keys with no BlipVisionModel counterpart: {unknown[:5]}.")
    return vision, text, head


def imagereward_configs() -> tuple[Any, Any]:
    """(``BlipVisionConfig``, ``BlipTextConfig``) of ImageReward: BLIP ViT-L/16 at 224 px, BERT-base with
    cross-attention to 1024-d image tokens; LayerNorm eps 1e-6 (timm ViT) and 1e-12 (BERT)."""
    from transformers import BlipTextConfig, BlipVisionConfig

    vision = BlipVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                              image_size=224, patch_size=16, hidden_act="gelu", layer_norm_eps=1e-6)
    text = BlipTextConfig(vocab_size=30524, hidden_size=768, encoder_hidden_size=1024, intermediate_size=3072,
                          num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=512,
                          hidden_act="gelu", layer_norm_eps=1e-12, is_decoder=True, pad_token_id=0)
    return vision, text


class ImageRewardScorer(Scorer):
    """Standardised ImageReward: ``(head(text_encoder(prompt | image)[:, 0]) - mean) / std``.

    Args:
        vision: ``BlipVisionModel``; text: ``BlipTextModel`` built with ``is_decoder=True`` in its
            config (that is what creates the cross-attention layers) and run bidirectionally.
        head: the :class:`PreferenceHead`; tokenizer: the BERT tokenizer with ``[DEC]``/``[ENC]``.
    """

    name = "imagereward"

    def __init__(self, vision: Any, text: Any, head: PreferenceHead, tokenizer: Any, batch_size: int = 16) -> None:
        super().__init__(device=vision.device, dtype=vision.dtype, batch_size=batch_size)
        self.vision = vision.eval().requires_grad_(False)
        self.text = text.eval().requires_grad_(False)
        self.head = head.to(vision.device, vision.dtype).eval().requires_grad_(False)
        self.tokenizer = tokenizer

    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """(B,) standardised rewards of images (B, 3, H, W) in [0, 1] and B prompts."""
        pixels = to_model_pixels(images, self.vision.config.image_size)
        image_tokens = self.vision(pixel_values=pixels).last_hidden_state  # (B, 1 + patches, 1024)
        tokens = self.tokenizer(prompts, padding="max_length", truncation=True, max_length=MAX_PROMPT_TOKENS,
                                return_tensors="pt").to(self.device)
        image_mask = torch.ones(image_tokens.shape[:-1], dtype=torch.long, device=self.device)
        hidden = self.text(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"],
                           encoder_hidden_states=image_tokens, encoder_attention_mask=image_mask).last_hidden_state
        reward = self.head(hidden[:, 0]).squeeze(-1)
        return (reward - IMAGEREWARD_MEAN) / IMAGEREWARD_STD


def _with_blip_special_tokens(tokenizer: Any) -> Any:
    # ImageReward's init_tokenizer adds these two; without them the ids stop at 30522.
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tokenizer


def load_imagereward(source: str | None = None, *, device: str | torch.device = "cpu",
                     dtype: torch.dtype = torch.float32, tokenizer: str | None = None,
                     configs: tuple[Any, Any] | None = None, batch_size: int = 16) -> ImageRewardScorer:
    """ImageReward from ``source``: ``ImageReward.pt``, a folder holding it, or a hub repo (``THUDM/ImageReward``).

    Args:
        tokenizer: BERT tokenizer folder or hub id (default: ``source`` folder if it has one, else
            ``bert-base-uncased``); ``[DEC]`` and ``[ENC]`` are added here.
        configs: (vision, text) configs, default :func:`imagereward_configs` (tests pass tiny ones).
    """
    from transformers import BlipTextModel, BlipVisionModel

    path = resolve_file(source or IMAGEREWARD_REPO, IMAGEREWARD_FILE, "imagereward")
    vision_state, text_state, head_state = blip_to_transformers(read_state_dict(path, "imagereward"))
    vision_config, text_config = configs if configs is not None else imagereward_configs()
    vision, text = BlipVisionModel(vision_config), BlipTextModel(text_config, add_pooling_layer=False)
    for part, model, state in (("visual encoder", vision, vision_state), ("text encoder", text, text_state)):
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as err:
            raise ModelLoadError(f"imagereward: {part} weights in {str(path)!r} do not fit ({err}).") from err
        if result.missing_keys or result.unexpected_keys:
            raise ModelLoadError(
                f"imagereward: {part} weights in {str(path)!r} do not match BLIP: missing "
                f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}."
            )
    head = PreferenceHead.from_state_dict(head_state, "imagereward")
    tok = _with_blip_special_tokens(
        load_tokenizer(tokenizer_source(source, tokenizer, IMAGEREWARD_TOKENIZER), "imagereward"))
    vision, text = vision.to(device=device, dtype=dtype), text.to(device=device, dtype=dtype)
    return ImageRewardScorer(vision, text, head, tok, batch_size=batch_size)
