"""One surface over every backbone: the toy, Stable Diffusion 1.5 and SDXL.

Samplers, objectives and evaluation only see this: encode prompts, move images
to and from the denoising space (identity for the pixel-space toy, the VAE for
SD), predict with the UNet, and build schedulers from the model's own config.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from diffusers import DDPMScheduler, UNet2DConditionModel
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.models.schedulers import make_scheduler

Kind = Literal["toy", "sd", "sdxl"]


class Backbone:
    def __init__(
        self,
        *,
        kind: Kind,
        source: str,
        unet: UNet2DConditionModel,
        text_encoders: Sequence[torch.nn.Module],
        tokenizers: Sequence,
        scheduler_config: dict,
        vae: torch.nn.Module | None = None,
        resolution: int | None = None,
        prompt_check: Callable[[list[str]], None] | None = None,
        force_zeros_for_empty_prompt: bool = False,
    ):
        self.kind = kind
        self.source = source
        self.unet = unet
        self.text_encoders = list(text_encoders)
        self.tokenizers = list(tokenizers)
        self.scheduler_config = dict(scheduler_config)
        self.vae = vae
        self.resolution = resolution or unet.config.sample_size * self.vae_scale  # the model's native size
        self.prompt_check = prompt_check
        self.force_zeros_for_empty_prompt = force_zeros_for_empty_prompt
        for module in [*self.text_encoders, *([vae] if vae is not None else [])]:
            module.requires_grad_(False).eval()

    # --- facts -----------------------------------------------------------------
    # The UNet's first weight, not diffusers' ``unet.device`` / ``unet.dtype``: those walk every
    # module looking for offloading and casting hooks (which a Backbone never has), 4 ms a call
    # on the toy UNet with LoRA, several calls per training step.
    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    @property
    def prediction_type(self) -> str:
        return self.scheduler_config.get("prediction_type", "epsilon")

    @property
    def vae_scale(self) -> int:
        return 1 if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)

    def latent_shape(self, resolution: int | None = None) -> tuple[int, int, int]:
        """(C, H, W) of the space the UNet denoises at ``resolution`` pixels."""
        res = resolution or self.resolution
        return (self.unet.config.in_channels, res // self.vae_scale, res // self.vae_scale)

    def training_scheduler(self) -> DDPMScheduler:
        """The forward process (``add_noise``, ``get_velocity``) the model was trained with."""
        return DDPMScheduler.from_config(self.scheduler_config)

    def sampler(self, name: str = "dpmsolver++") -> SchedulerMixin:
        return make_scheduler(name, self.scheduler_config)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Backbone:
        # Only the given arguments: diffusers' .to() warns on any ``dtype`` keyword, even ``None``.
        kwargs = {k: v for k, v in (("device", device), ("dtype", dtype)) if v is not None}
        for m in [self.unet, *self.text_encoders, *([self.vae] if self.vae is not None else [])]:
            m.to(**kwargs)
        return self

    # --- text ------------------------------------------------------------------
    def check_prompts(self, prompts: list[str]) -> None:
        """Raise InputError for prompts this backbone cannot read (toy vocabulary)."""
        if self.prompt_check is not None:
            self.prompt_check([p for p in prompts if p])

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> Conditioning:
        """Conditioning for ``prompts``; ``""`` is the unconditional prompt used by CFG."""
        self.check_prompts(prompts)
        hidden, pooled = [], None
        for tokenizer, encoder in zip(self.tokenizers, self.text_encoders):
            ids = tokenizer(
                prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
            ).input_ids.to(encoder.device)
            if self.kind == "sdxl":  # SDXL reads the penultimate layer and the second encoder's pooled output
                out = encoder(ids, output_hidden_states=True)
                hidden.append(out.hidden_states[-2])
                pooled = out[0]
            else:
                hidden.append(encoder(ids)[0])
        cond = Conditioning(hidden=torch.cat(hidden, dim=-1))
        if self.kind == "sdxl":
            r = self.resolution
            time_ids = torch.tensor([[r, r, 0, 0, r, r]], dtype=cond.hidden.dtype).repeat(len(prompts), 1)
            cond = Conditioning(hidden=cond.hidden, pooled=pooled, time_ids=time_ids.to(cond.hidden.device))
        if self.force_zeros_for_empty_prompt:  # SDXL's unconditional embedding is zeros, not ""'s encoding
            keep = torch.tensor([bool(p) for p in prompts], dtype=cond.hidden.dtype, device=cond.hidden.device)
            cond.hidden = cond.hidden * keep.view(-1, 1, 1)
            if cond.pooled is not None:
                cond.pooled = cond.pooled * keep.view(-1, 1)
        return cond.to(self.device, self.dtype)

    # --- images ----------------------------------------------------------------
    def encode_images(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pixels (B, 3, H, W) in [-1, 1] -> the denoising space (latents, or pixels for the toy)."""
        if self.vae is None:
            return images.to(self.device, self.dtype)
        vae_dtype = next(self.vae.parameters()).dtype
        dist = self.vae.encode(images.to(self.vae.device, vae_dtype)).latent_dist
        latents = dist.sample(generator) * self.vae.config.scaling_factor
        return latents.to(self.device, self.dtype)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The denoising space -> pixels (B, 3, H, W) in [-1, 1], clamped."""
        if self.vae is None:
            return latents.float().clamp(-1, 1)
        vae_dtype = next(self.vae.parameters()).dtype
        images = self.vae.decode(latents.to(self.vae.device, vae_dtype) / self.vae.config.scaling_factor).sample
        return images.float().clamp(-1, 1)

    # --- denoising -------------------------------------------------------------
    def predict(
        self, x_t: torch.Tensor, t: torch.Tensor, cond: Conditioning, unet: torch.nn.Module | None = None
    ) -> torch.Tensor:
        """The UNet's output (epsilon or v, per ``prediction_type``) at noisy ``x_t`` (B, C, H, W), times ``t`` (B,)."""
        net = unet if unet is not None else self.unet
        if t.ndim == 0:
            t = t.expand(x_t.shape[0])
        return net(x_t, t, **cond.unet_kwargs()).sample
