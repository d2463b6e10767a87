"""Build the toy world's diffusers/transformers components from configs.

The toy model is an ordinary diffusers-style folder (``model_index.json``,
``unet/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``) without a VAE: it
denoises 32x32 RGB pixels directly. ``models.loading`` reads it with the same
``from_pretrained(..., subfolder=...)`` calls it uses for Stable Diffusion.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffusers import DDPMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from diffusion_dro.toy.world import VOCABULARY

TOY_CLASS_NAME = "DroToyPipeline"  # model_index.json marker of a pixel-space toy folder
MAX_TOKENS = 8  # <bos> a size colour shape <eos> + padding
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def write_tokenizer(folder: str | Path) -> CLIPTokenizer:
    """Write a word-level CLIP BPE vocabulary (vocab.json + merges.txt) and load it back.

    CLIP's BPE splits a word into characters, the last marked ``</w>``. Merging
    suffixes right to left (``e d</w>`` -> ``ed</w>``, ``r ed</w>`` -> ``red</w>``)
    rebuilds each whole word; no merge applies across words, so every toy word is
    exactly one token. ``CLIPTokenizer(vocab_file=...)`` ignores files in
    transformers 5, hence ``from_pretrained(folder)``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The BPE backend wants every merge's parts in the vocabulary: characters and suffixes.
    tokens = [BOS, EOS] + sorted({ch for w in VOCABULARY for ch in w})
    merges: list[str] = []
    for word in VOCABULARY:
        suffix = word[-1] + "</w>"
        tokens.append(suffix)
        for ch in reversed(word[:-1]):
            merges.append(f"{ch} {suffix}")
            suffix = ch + suffix
            tokens.append(suffix)
    tokens = list(dict.fromkeys(tokens))
    merges = list(dict.fromkeys(merges))
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, indent=1))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "CLIPTokenizer",
                "model_max_length": MAX_TOKENS,
                "bos_token": BOS,
                "eos_token": EOS,
                "unk_token": EOS,
                "pad_token": EOS,
            },
            indent=1,
        )
    )
    return CLIPTokenizer.from_pretrained(folder)


def text_encoder_config(vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=MAX_TOKENS,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        projection_dim=64,
    )


def build_unet() -> UNet2DConditionModel:
    """About 1.4 M parameters; cross-attention only at 8x8 (attention at 16x16 dominates CPU time)."""
    return UNet2DConditionModel(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=64,
        attention_head_dim=32,
        norm_num_groups=8,
    )


def build_scheduler() -> DDPMScheduler:
    """DDPM's original linear schedule for 32x32 pixels: its last alpha-bar (~4e-5) keeps
    DPM-Solver++ well-behaved without thresholding (a cosine schedule's ~1e-9 does not)."""
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        prediction_type="epsilon",
        clip_sample=False,
    )


def build_components(seed: int = 0) -> dict:
    """Fresh, untrained toy components, deterministic from ``seed``."""
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = write_tokenizer(tmp)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(text_encoder_config(len(tokenizer)))
    torch.manual_seed(seed + 1)
    unet = build_unet()
    return {"unet": unet, "text_encoder": text_encoder, "tokenizer": tokenizer, "scheduler": build_scheduler()}


def save_components(folder: str | Path, components: dict, card: str | None = None) -> None:
    """Write a toy model folder in the diffusers layout (plus a model card)."""
    import diffusers

    folder = Path(folder)
    for name in ("unet", "text_encoder", "tokenizer", "scheduler"):
        components[name].save_pretrained(folder / name)
    index = {
        "_class_name": TOY_CLASS_NAME,
        "_diffusers_version": diffusers.__version__,
        "unet": ["diffusers", "UNet2DConditionModel"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "scheduler": ["diffusers", type(components["scheduler"]).__name__],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    if card is not None:
        (folder / "README.md").write_text(card)
