"""Supervised fine-tuning on the experts: the plain denoising loss (Ho et al. 2020, Eq. 14).

    loss = ||model(x_t^e, t, c) - target_e||^2,   t ~ U{0, ..., T-1}

with ``target_e`` the noise (epsilon-prediction) or velocity (v-prediction). It is
the baseline every DRO number is reported beside: same experts, same budget, no
negatives and no reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from diffusion_dro.objectives.base import Nets, ObjectiveOutput, PairBatch, per_sample_mse


def sft_loss(model_e: torch.Tensor, target_e: torch.Tensor) -> ObjectiveOutput:
    """Per-sample mean squared error (B,); e.g. model_e=1, target_e=0 everywhere gives 1."""
    loss = per_sample_mse(model_e, target_e)
    return ObjectiveOutput(loss=loss, metrics={"loss_e": loss.detach()})


@dataclass
class SFT:
    name: str = "sft"
    needs_negatives: bool = False
    needs_reference: bool = False

    def __call__(self, nets: Nets, batch: PairBatch) -> ObjectiveOutput:
        x_e = nets.noisy(batch.x0_e, batch.noise_e, batch.t)
        return sft_loss(nets.model(x_e, batch.t, batch.cond), nets.target(batch.x0_e, batch.noise_e, batch.t))
