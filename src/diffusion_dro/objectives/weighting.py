"""Per-pair loss weights over timesteps: Min-SNR-gamma (Hang et al., ICCV 2023).

Epsilon-prediction losses weigh low-noise timesteps by their SNR, so updates are
dominated by fine detail while what a taste is about (background, layout, light)
is decided at high noise. Min-SNR clips each timestep's effective weight at gamma:

    epsilon-prediction:  w(t) = min(SNR(t), gamma) / SNR(t)
    v-prediction:        w(t) = min(SNR(t), gamma) / (SNR(t) + 1)

with SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (diffusers' ``compute_snr``). The
loop multiplies each pair's loss (SFT's MSE or DRO's hinge) by w(t) before the mean;
``gamma=None`` leaves every weight at 1.
"""

from __future__ import annotations

import torch
from diffusers.training_utils import compute_snr


def min_snr_weights(scheduler, t: torch.Tensor, gamma: float | None, v_prediction: bool) -> torch.Tensor:
    """Weights (B,) for integer timesteps ``t`` (B,) of a scheduler with ``alphas_cumprod``.

    Worked example: SNR 10 with gamma 5 gives 0.5 (epsilon) or 5/11 (v); SNR 2 gives
    1 (epsilon) or 2/3 (v).
    """
    if gamma is None:
        return torch.ones(t.shape, dtype=torch.float32, device=t.device)
    snr = compute_snr(scheduler, t)
    clipped = snr.clamp(max=gamma)
    return clipped / (snr + 1) if v_prediction else clipped / snr
