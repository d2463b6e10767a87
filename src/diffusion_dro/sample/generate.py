"""Text-to-image generation on any Backbone with classifier-free guidance.

The loop is the diffusers scheduler contract: ``set_timesteps``, then per step
``scale_model_input`` -> UNet -> guidance -> ``step``. Every image owns a
``torch.Generator`` seeded with its seed, for its initial noise and for any noise
an ancestral sampler adds, so an image depends on (prompt, seed, settings) and not
on which batch it was generated in (up to float rounding of batched kernels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from diffusers.utils.torch_utils import randn_tensor

from diffusion_dro.errors import InputError
from diffusion_dro.models.backbone import Backbone
from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.models.schedulers import check_scheduler_name, step_kwargs

StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]  # (step index, t, latents)


@dataclass(frozen=True)
class SampleSettings:
    steps: int = 20
    guidance_scale: float = 3.0
    scheduler: str = "dpmsolver++"
    negative_prompt: str = ""

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise InputError(f"--steps must be a positive integer, got {self.steps}.")
        if self.guidance_scale < 0:
            raise InputError(f"--guidance-scale must be >= 0 (1 means no guidance), got {self.guidance_scale}.")
        check_scheduler_name(self.scheduler)


@torch.no_grad()
def generate(
    backbone: Backbone,
    prompts: Sequence[str],
    seeds: Sequence[int],
    settings: SampleSettings = SampleSettings(),
    callback: StepCallback | None = None,
    unet: torch.nn.Module | None = None,
) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] for ``prompts[i]`` with ``seeds[i]``."""
    if len(prompts) != len(seeds):
        raise InputError(f"got {len(prompts)} prompts but {len(seeds)} seeds; give one seed per prompt.")
    if not prompts:
        raise InputError("no prompts to generate from; give at least one.")
    scheduler = backbone.sampler(settings.scheduler)
    scheduler.set_timesteps(settings.steps, device=backbone.device)
    guided = settings.guidance_scale != 1.0
    cond = backbone.encode_prompts(list(prompts))
    if guided:
        uncond = backbone.encode_prompts([settings.negative_prompt] * len(prompts))
        cond = Conditioning.cat([uncond, cond])
    generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    shape = (len(prompts), *backbone.latent_shape())
    x = randn_tensor(shape, generator=generators, device=backbone.device, dtype=backbone.dtype)
    x = x * scheduler.init_noise_sigma
    extra = step_kwargs(scheduler, generators)
    for i, t in enumerate(scheduler.timesteps):
        x_in = scheduler.scale_model_input(torch.cat([x, x]) if guided else x, t)
        out = backbone.predict(x_in, t.expand(x_in.shape[0]), cond, unet=unet)
        if guided:
            out_u, out_c = out.chunk(2)
            out = out_u + settings.guidance_scale * (out_c - out_u)
        x = scheduler.step(out, t, x, **extra).prev_sample
        if callback is not None:
            callback(i, t, x)
    return backbone.decode(x)
