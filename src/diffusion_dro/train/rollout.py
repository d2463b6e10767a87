"""Online negatives: trajectories of the policy, one diffusers scheduler per sample.

Each sample integrates its own timestep grid ``t_k = k * (T / steps) + offset``
(descending, one random ``offset`` in ``[0, T / steps)`` per sample) so training
sees every t. The reference code's batched variant integrated every sample with
sample 0's sigmas; here each sample owns a scheduler built with
``set_timesteps(timesteps=...)``, so a sample's trajectory is the one it would
have alone. The UNet still runs on the whole batch at once (per-sample t).

At every step the state that goes *into* the network (after
``scale_model_input``) and the network's output there are recorded: the pair
(x_t, out) a DRO negative is made of.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from diffusion_dro.errors import InputError
from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.models.schedulers import step_kwargs

Predict = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]


@dataclass
class Trajectories:
    x_t: torch.Tensor  # (B, S, C, H, W) network inputs, step by step
    t: torch.Tensor  # (B, S) int64 timesteps, descending
    out: torch.Tensor  # (B, S, C, H, W) the policy's outputs at (x_t, t)
    final: torch.Tensor  # (B, C, H, W) the sampler's result


def perturbed_grid(num_train_timesteps: int, steps: int, offset: int) -> list[int]:
    """``[(steps-1)*stride + offset, ..., offset]`` with ``stride = T // steps``."""
    stride = num_train_timesteps // steps
    if not 0 <= offset < stride:
        raise ValueError(f"offset must be in [0, {stride}), got {offset}")
    return [k * stride + offset for k in reversed(range(steps))]


def check_rollout_scheduler(scheduler: SchedulerMixin, name: str) -> None:
    if "timesteps" not in inspect.signature(type(scheduler).set_timesteps).parameters:
        raise InputError(
            f"--rollout-scheduler {name!r} cannot take per-sample timestep grids; use dpmsolver++, euler or ddpm."
        )


def grid_timesteps(make_scheduler: Callable[[], SchedulerMixin], grid: Sequence[int]) -> list[int]:
    """The timesteps a sample on ``grid`` passes through, known before any network runs."""
    scheduler = make_scheduler()
    scheduler.set_timesteps(timesteps=list(grid))
    return [int(t) for t in scheduler.timesteps]


@torch.no_grad()
def rollout(
    predict: Predict,
    make_scheduler: Callable[[], SchedulerMixin],
    cond: Conditioning,
    noise: torch.Tensor,
    grids: Sequence[Sequence[int]],
    generators: Sequence[torch.Generator] | None = None,
    steps: int | None = None,
) -> Trajectories:
    """Sample ``len(noise)`` trajectories at guidance 1 from initial ``noise`` (B, C, H, W).

    ``grids[b]`` is sample b's descending timestep list (all of one length);
    ``generators[b]`` feeds any noise a stochastic sampler adds. ``steps`` stops after
    that many steps (the first ``steps`` of the full trajectories; ``final`` is then
    the state reached there).
    """
    batch = noise.shape[0]
    if len(grids) != batch or len({len(g) for g in grids}) != 1:
        raise ValueError("rollout needs one timestep grid per sample, all of the same length")
    schedulers = [make_scheduler() for _ in range(batch)]
    extra = [step_kwargs(s, None if generators is None else generators[b]) for b, s in enumerate(schedulers)]
    for s, grid in zip(schedulers, grids):
        s.set_timesteps(timesteps=list(grid), device=noise.device)
    x = torch.cat([noise[b : b + 1] * s.init_noise_sigma for b, s in enumerate(schedulers)])
    xs, ts, outs = [], [], []
    for i in range(len(grids[0]) if steps is None else min(steps, len(grids[0]))):
        t_i = [s.timesteps[i] for s in schedulers]
        x_in = torch.cat([s.scale_model_input(x[b : b + 1], t) for b, (s, t) in enumerate(zip(schedulers, t_i))])
        t_vec = torch.stack(t_i).to(noise.device)
        out = predict(x_in, t_vec, cond)
        xs.append(x_in)
        ts.append(t_vec)
        outs.append(out)
        x = torch.cat([
            s.step(out[b : b + 1], t, x[b : b + 1], **extra[b]).prev_sample
            for b, (s, t) in enumerate(zip(schedulers, t_i))
        ])
    return Trajectories(
        x_t=torch.stack(xs, 1), t=torch.stack(ts, 1).long(), out=torch.stack(outs, 1), final=x
    )
