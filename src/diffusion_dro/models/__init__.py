"""Backbones: the toy, SD1.5 and SDXL behind one surface; LoRA; named samplers."""

from diffusion_dro.models.backbone import Backbone
from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.models.loading import load_backbone, resolve_ref
from diffusion_dro.models.lora import attach_lora, load_lora, save_lora
from diffusion_dro.models.schedulers import SCHEDULERS, make_scheduler

__all__ = [
    "SCHEDULERS",
    "Backbone",
    "Conditioning",
    "attach_lora",
    "load_backbone",
    "load_lora",
    "make_scheduler",
    "resolve_ref",
    "save_lora",
]
