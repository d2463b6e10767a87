"""Named samplers: the one dict the CLI's ``--scheduler`` choices come from.

Each entry builds a diffusers scheduler from the model's own scheduler config, so
betas, timestep spacing and prediction type always match what the model learnt.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from diffusion_dro.errors import InputError

SCHEDULERS: dict[str, Callable[[dict], SchedulerMixin]] = {
    # DPM-Solver++(2M) (Lu et al. 2022): the default, 20 steps; the reference's sampler.
    "dpmsolver++": lambda c: DPMSolverMultistepScheduler.from_config(c, algorithm_type="dpmsolver++", solver_order=2),
    "ddim": lambda c: DDIMScheduler.from_config(c),
    "ddpm": lambda c: DDPMScheduler.from_config(c),
    "euler": lambda c: EulerDiscreteScheduler.from_config(c),
    "euler-ancestral": lambda c: EulerAncestralDiscreteScheduler.from_config(c),
    "unipc": lambda c: UniPCMultistepScheduler.from_config(c),
}


def check_scheduler_name(name: str) -> None:
    if name not in SCHEDULERS:
        raise InputError(f"--scheduler {name!r} is unknown; choose one of {sorted(SCHEDULERS)}.")


def make_scheduler(name: str, config: dict) -> SchedulerMixin:
    """A fresh scheduler ``name`` configured from a model's scheduler config."""
    check_scheduler_name(name)
    return SCHEDULERS[name](dict(config))


def step_kwargs(scheduler: SchedulerMixin, generator: torch.Generator | list[torch.Generator] | None) -> dict:
    """Keyword arguments of ``scheduler.step`` beyond (output, t, sample), computed once per sampling loop:
    ``generator`` goes only to samplers whose step takes one (UniPC's refuses the keyword)."""
    return {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
