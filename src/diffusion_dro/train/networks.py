"""The networks of a fine-tuning run: trainable model, frozen reference, and the final save.

LoRA mode: one UNet. The model is the UNet with its adapter (starting at zero, or from
``--init-adapter``), run through merged weights on the CPU (``FusedLoRA``, ``--fused-lora``);
the reference is a peft-free view of the same base weights (``plain_unet``: bit-exact base
output, no second copy of the weights, faster than disabling the adapters). Under mixed
precision the frozen base is cast to the half type and the adapter kept in fp32. Full mode:
every UNet weight trains in fp32 (autocast does the half-precision maths) and the reference
is a separate frozen copy, kept only when the objective needs one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers.training_utils import cast_training_params

from diffusion_dro.models.backbone import Backbone
from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.models.fused_lora import FusedLoRA
from diffusion_dro.models.loading import BASE_REF_FILE
from diffusion_dro.models.lora import attach_lora, copy_lora_from, plain_unet, save_lora
from diffusion_dro.train.config import TrainConfig

HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


class TrainNetworks:
    def __init__(self, backbone: Backbone, cfg: TrainConfig, needs_reference: bool):
        self.backbone = backbone
        self.cfg = cfg
        unet = backbone.unet
        self.ref_unet: torch.nn.Module | None = None
        if cfg.full:
            if needs_reference:
                self.ref_unet = copy.deepcopy(unet).requires_grad_(False).eval()
                if cfg.mixed_precision in HALF:
                    self.ref_unet.to(HALF[cfg.mixed_precision])
            unet.requires_grad_(True)
        else:
            unet.requires_grad_(False)
            if cfg.mixed_precision in HALF:
                unet.to(HALF[cfg.mixed_precision])
            attach_lora(unet, cfg.lora_rank, cfg.lora_alpha, cfg.lora_targets)
            if unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last):
                unet.to(memory_format=torch.channels_last)  # the adapter's convs take the base's format
            if cfg.init_adapter is not None:
                copy_lora_from(unet, cfg.init_adapter)
            cast_training_params(unet, dtype=torch.float32)
            if needs_reference:
                self.ref_unet = plain_unet(unet)
        unet.train()
        self.unet = unet
        fuse = not cfg.full and (cfg.fused_lora == "on" or (cfg.fused_lora == "auto" and backbone.device.type == "cpu"))
        # What the optimizer's forward runs (and accelerate wraps): the UNet itself, or its fused view.
        self.train_module: torch.nn.Module = FusedLoRA(unet) if fuse else unet
        self.trainable = [p for p in unet.parameters() if p.requires_grad]

    def predictor(self, net: torch.nn.Module) -> Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]:
        return lambda x, t, cond: net(x, t, **cond.unet_kwargs()).sample

    def ref_predict(self, x: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        return self.ref_unet(x, t, **cond.unet_kwargs()).sample

    def trainable_state(self) -> list[torch.Tensor]:
        return [p.detach().cpu().clone() for p in self.trainable]

    def load_trainable_state(self, tensors: list[torch.Tensor]) -> None:
        if len(tensors) != len(self.trainable):
            raise ValueError(f"checkpoint holds {len(tensors)} trainable tensors, the run has {len(self.trainable)}")
        with torch.no_grad():
            for p, v in zip(self.trainable, tensors):
                p.copy_(v)

    def save_final(self, folder: Path) -> None:
        """Diffusers formats: ``pytorch_lora_weights.safetensors`` (LoRA) or ``unet/`` + ``dro_base.json`` (full)."""
        if self.cfg.full:
            self.unet.save_pretrained(folder / "unet", safe_serialization=True)
            (folder / BASE_REF_FILE).write_text(json.dumps({"base": self.cfg.model}))
        else:
            save_lora(self.unet, folder)
