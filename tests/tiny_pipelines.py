"""Tiny SD1.5 and SDXL pipelines built from configs (diffusers' own test sizes), and a fake hub cache.

Imported as a plain module: pytest puts this folder on sys.path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from diffusion_dro.toy.components import write_tokenizer


def _vae() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=2,
        sample_size=32,
    )


def _text_config(vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, vocab_size=vocab_size,
        max_position_embeddings=8, projection_dim=32,
    )


def save_tiny_sd(folder: Path) -> Path:
    tokenizer = write_tokenizer(folder / "_tok")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2,
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_text_config(len(tokenizer)))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)
    pipe = StableDiffusionPipeline(
        vae=_vae(), text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder / "sd")
    shutil.rmtree(folder / "_tok")
    return folder / "sd"


def save_tiny_sdxl(folder: Path) -> Path:
    tokenizer = write_tokenizer(folder / "_tok")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(2, 4), layers_per_block=2, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=1,
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_text_config(len(tokenizer)))
    torch.manual_seed(0)
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(len(tokenizer)))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="leading", steps_offset=1
    )
    pipe = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer, unet=unet, scheduler=scheduler,
    )
    pipe.save_pretrained(folder / "sdxl")
    shutil.rmtree(folder / "_tok")
    return folder / "sdxl"


def install_in_hub_cache(folder: Path, repo_id: str, cache: str | Path) -> str:
    """Lay ``folder`` out as the hub cache does (refs/main -> snapshots/<commit>) so that
    ``from_pretrained(repo_id)`` with HF_HUB_OFFLINE=1 takes the real hub-id path."""
    repo = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit, dirs_exist_ok=True)
    return repo_id
