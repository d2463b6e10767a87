"""Tiny components shared by the scorer tests (imported as a plain module; pytest puts this folder on sys.path)."""

from __future__ import annotations

import string
import torch

CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
PROMPTS = ["a red cat", "blue dog on grass", "a cat", "zebra"]


def clip_vocab() -> dict[str, int]:
    """Characters as BPE tokens, with start/end-of-text last so end-of-text has the largest id, as in CLIP."""
    vocab = {c: i for i, c in enumerate(string.ascii_lowercase)}
    vocab.update({c + "</w>": len(vocab) + i for i, c in enumerate(string.ascii_lowercase)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def tiny_clip_config(projection_dim: int = 16):
    """CLIP with 32-wide, 2-layer towers, 32 px images in 8 px patches, 16-token context."""
    from transformers import CLIPConfig

    eos = len(clip_vocab()) - 1
    return CLIPConfig(
        text_config=dict(vocab_size=eos + 1, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16, hidden_act="gelu",
                         bos_token_id=eos - 1, eos_token_id=eos, pad_token_id=eos),
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8, hidden_act="gelu"),
        projection_dim=projection_dim,
    )


def normalise(images: torch.Tensor) -> torch.Tensor:
    return (images - CLIP_MEAN) / CLIP_STD
