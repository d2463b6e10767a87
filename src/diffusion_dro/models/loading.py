"""Resolve a model reference and load it into a ``Backbone``.

A reference is ``toy`` (the shipped base), a local diffusers folder, or a hub id.
All three take the same path: ``DiffusionPipeline.load_config`` for the
``model_index.json``, then each component's ``from_pretrained(ref, subfolder=...)``.
Hub ids therefore work offline from the local cache (``HF_HUB_OFFLINE=1``) exactly
as they would online. A fully fine-tuned run (``RUN/final``) is a folder with its
own ``unet/`` and a ``dro_base.json`` naming the model its other parts come from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDPMScheduler, DiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
from transformers.utils import logging as hf_logging

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.models.backbone import Backbone, Kind
from diffusion_dro.models.lora import load_lora

BASE_REF_FILE = "dro_base.json"  # written by full fine-tuning: {"base": "<model ref>"}


def _looks_like_path(ref: str) -> bool:
    """Hub ids are exactly ``org/name``; anything else is meant as a local path."""
    return ref.startswith((".", "/", "~")) or "\\" in ref or ref.count("/") != 1


def resolve_ref(ref: str) -> str:
    """``toy`` -> the shipped folder; an existing folder -> its path; else a hub id (checked for shape)."""
    if ref == "toy":
        from diffusion_dro.toy.assets import asset_path

        path = asset_path("base")
        if not (path / "model_index.json").is_file():
            raise ModelLoadError(f"the shipped toy base is missing from {path}; reinstall diffusion-dro.")
        return str(path)
    path = Path(ref).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise ModelLoadError(f"--model {ref!r} is a file; give a diffusers model folder (with model_index.json).")
    if _looks_like_path(ref):
        raise ModelLoadError(
            f"--model {ref!r}: no such folder. Give 'toy', an existing diffusers folder, or a hub id like "
            "'stable-diffusion-v1-5/stable-diffusion-v1-5'."
        )
    return ref


def _load(what: str, ref: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ModelLoadError:
        raise
    except Exception as e:  # diffusers/transformers/safetensors raise many types for one cause
        raise ModelLoadError(
            f"could not load {what} of model {ref!r}: {type(e).__name__}: {str(e)[:300]}. "
            "If the weights file is truncated or corrupt, re-download or re-save the model; "
            "for a hub id without network, set HF_HUB_OFFLINE=1 after caching it."
        ) from e


@contextmanager
def _weight_bars(show: bool) -> Iterator[None]:
    """transformers 5 draws a 'Loading weights' bar for every text encoder; off for callers without progress
    bars (a log file, a demo's echoed subprocess), restored after."""
    was_on = hf_logging.is_progress_bar_enabled()
    if was_on and not show:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on and not show:
            hf_logging.enable_progress_bar()


def load_backbone(
    ref: str,
    adapter: str | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    resolution: int | None = None,
    fuse_adapter: bool = False,
    channels_last: bool = True,
    progress: bool = True,
) -> Backbone:
    """Load ``ref`` (and a LoRA ``adapter`` folder) as a Backbone on ``device``/``dtype``.

    ``fuse_adapter`` merges the adapter into the UNet's weights (diffusers' ``fuse_lora``), for
    inference only: the same function up to float rounding, without peft's per-layer LoRA matmuls.
    ``channels_last`` stores the UNet's convolution weights channels-last, the layout oneDNN and
    cuDNN convolve fastest (toy UNet, one CPU thread: batch-16 forward 13% and batch-8 forward +
    backward 12% faster; BENCHMARKS.md); the maths is the same up to float rounding.
    ``progress=False`` hides transformers' per-model 'Loading weights' bars.
    """
    with _weight_bars(progress):
        return _load_backbone(ref, adapter, device, dtype, resolution, fuse_adapter, channels_last)


def _load_backbone(ref: str, adapter: str | None, device: torch.device | str, dtype: torch.dtype,
                   resolution: int | None, fuse_adapter: bool, channels_last: bool) -> Backbone:
    location = resolve_ref(ref)
    base_file = Path(location) / BASE_REF_FILE
    if base_file.is_file():  # a full fine-tune: its own UNet over the base's other parts
        base = json.loads(base_file.read_text())["base"]
        backbone = _load_backbone(base, None, device, dtype, resolution, False, False)
        backbone.unet = _load("unet", ref, UNet2DConditionModel.from_pretrained, location, subfolder="unet",
                              torch_dtype=dtype)
        backbone.unet.to(device=device)
        backbone.source = ref
        return _with_adapter(backbone, adapter, fuse_adapter, channels_last)

    index = _load("model_index.json", ref, DiffusionPipeline.load_config, location)
    kind: Kind = (
        "toy"
        if index.get("_class_name") == "DroToyPipeline"
        else "sdxl"
        if "text_encoder_2" in index
        else "sd"
    )
    # The dtype is set at load, not by a later ``.to(dtype)``: diffusers then keeps a model's fp32-only
    # modules in fp32 (and its ``.to(dtype)`` warns about them even where there are none).
    unet = _load("unet", ref, UNet2DConditionModel.from_pretrained, location, subfolder="unet", torch_dtype=dtype)
    encoders = [_load("text_encoder", ref, CLIPTextModel.from_pretrained, location, subfolder="text_encoder",
                      dtype=dtype)]
    tokenizers = [_load("tokenizer", ref, CLIPTokenizer.from_pretrained, location, subfolder="tokenizer")]
    if kind == "sdxl":
        encoders.append(
            _load("text_encoder_2", ref, CLIPTextModelWithProjection.from_pretrained, location,
                  subfolder="text_encoder_2", dtype=dtype)
        )
        tokenizers.append(_load("tokenizer_2", ref, CLIPTokenizer.from_pretrained, location, subfolder="tokenizer_2"))
    vae = (_load("vae", ref, AutoencoderKL.from_pretrained, location, subfolder="vae", torch_dtype=dtype)
           if "vae" in index else None)
    sched_config = _load("scheduler", ref, DDPMScheduler.load_config, location, subfolder="scheduler")
    prompt_check = None
    if kind == "toy":
        from diffusion_dro.toy.world import parse_prompt

        def prompt_check(prompts: list[str]) -> None:
            for p in prompts:
                parse_prompt(p)

    backbone = Backbone(
        kind=kind,
        source=ref,
        unet=unet,
        text_encoders=encoders,
        tokenizers=tokenizers,
        scheduler_config={k: v for k, v in sched_config.items() if not k.startswith("_")},
        vae=vae,
        resolution=resolution,
        prompt_check=prompt_check,
        force_zeros_for_empty_prompt=kind == "sdxl" and index.get("force_zeros_for_empty_prompt", True),
    ).to(device)
    return _with_adapter(backbone, adapter, fuse_adapter, channels_last)


def _with_adapter(backbone: Backbone, adapter: str | None, fuse: bool, channels_last: bool) -> Backbone:
    if adapter is not None:
        load_lora(backbone.unet, adapter)
        if fuse:
            backbone.unet.fuse_lora()
    if channels_last:
        backbone.unet.to(memory_format=torch.channels_last)
    return backbone
