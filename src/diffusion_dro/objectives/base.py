"""What an objective sees: a batch of training pairs and the networks to query.

Symbols (shapes): B pairs; x0_e (B, C, H, W) expert images in the denoising space;
noise_e (B, C, H, W) fresh Gaussian noise for them; t (B,) integer timesteps shared
by the expert and the negative of a pair; x_p (B, C, H, W) the policy's input
state at t; out_p (B, C, H, W) the policy's prediction there (epsilon or v);
x0_p (B, C, H, W) instead of x_p/out_p: the policy's final sample, which the
objective noises with ``noise_e`` at t like the expert (``--negatives final``).
``policy_is_model``: out_p is the current model's own output at x_p (the policy was
the model when it sampled, and no update happened since), so model(x_p) == out_p
up to rounding and an objective may skip recomputing it. ``fetch_negatives``: instead of
x_p/out_p, a function that samples them on demand: given a (B,) bool mask it returns
(x_p, out_p) of the masked pairs only (fresh pairs, ``policy_is_model`` is True).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from diffusion_dro.models.conditioning import Conditioning

Predict = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]  # (x_t, t, cond) -> output


@dataclass
class PairBatch:
    x0_e: torch.Tensor
    noise_e: torch.Tensor
    t: torch.Tensor
    cond: Conditioning
    x_p: torch.Tensor | None = None  # None for objectives without negatives (SFT)
    out_p: torch.Tensor | None = None
    x0_p: torch.Tensor | None = None  # final-sample negatives: noised like the expert
    policy_is_model: bool = False
    fetch_negatives: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None


@dataclass
class Nets:
    """The trainable model, the frozen reference, and the forward process.

    ``model`` carries gradients; ``ref`` runs without them. ``noisy(x0, noise, t)``
    is ``add_noise`` and ``target(x0, noise, t)`` is what the network should output
    (``noise`` for epsilon-prediction, ``v`` for v-prediction).
    """

    model: Predict
    ref: Predict | None
    noisy: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    target: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class ObjectiveOutput:
    loss: torch.Tensor  # (B,) per-pair loss; the loop takes the mean
    metrics: dict[str, torch.Tensor]  # name -> (B,) per-pair values, detached


class Objective(Protocol):
    name: str
    needs_negatives: bool
    needs_reference: bool

    def __call__(self, nets: Nets, batch: PairBatch) -> ObjectiveOutput: ...


def per_sample_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every element but the batch axis, in float32: (B, ...) -> (B,)."""
    return (a.float() - b.float()).pow(2).flatten(1).mean(1)
