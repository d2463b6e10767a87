"""Diffusion-DRO: experts must out-rank the policy's own samples (Wu et al., NeurIPS 2025).

Paper: "Ranking-based Preference Optimization for Diffusion Models from Implicit
User Feedback", arXiv 2510.18353, the hinge objective on denoising losses relative
to a frozen reference (its Eq. for L_DRO; reference code train.py). Per pair, with
shared t and c:

    L_e  = ||model(x_t^e, t, c) - target_e||^2     L_e0 = same with ref
    L_p  = ||model(x_t^p, t, c) - out_p||^2        L_p0 = same with ref
    diff = (L_e - L_e0) - (L_p - L_p0)
    loss = relu(diff + margin)

Symbols: ``loss_e``=L_e, ``loss_e_ref``=L_e0, ``loss_p``=L_p, ``loss_p_ref``=L_p0,
``margin``=the hinge margin (paper default 1e-3). Squared errors are means over all
elements of a sample. ``target_e`` is the noise (epsilon-prediction) or the
velocity (v-prediction) of the expert's forward process; ``out_p`` is the policy's
own output at x_t^p, in the same prediction space.

Minimising pushes the model's error on experts down and its error on its own
samples up, each measured against the reference, until the experts lead by the
margin; then the hinge is inactive and the pair gives no gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from diffusion_dro.errors import InputError
from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.objectives.base import Nets, ObjectiveOutput, PairBatch, per_sample_mse


def dro_loss(
    model_e: torch.Tensor,
    ref_e: torch.Tensor,
    target_e: torch.Tensor,
    model_p: torch.Tensor,
    ref_p: torch.Tensor,
    target_p: torch.Tensor,
    margin: float = 1e-3,
) -> ObjectiveOutput:
    """The DRO hinge per pair. All inputs (B, C, H, W); returns loss (B,) and metrics (B,) each.

    Worked example (one element per sample): model_e=1, ref_e=0, target_e=0 gives
    L_e=1, L_e0=0; model_p=0, ref_p=0, target_p=0 gives L_p=L_p0=0; diff=1, so the
    loss is 1 + margin and the gradient lowers the model's expert output.
    """
    loss_e, loss_e_ref = per_sample_mse(model_e, target_e), per_sample_mse(ref_e, target_e)
    loss_p, loss_p_ref = per_sample_mse(model_p, target_p), per_sample_mse(ref_p, target_p)
    return dro_hinge(loss_e, loss_e_ref, loss_p, loss_p_ref, margin)


def dro_hinge(loss_e: torch.Tensor, loss_e_ref: torch.Tensor, loss_p: torch.Tensor, loss_p_ref: torch.Tensor,
              margin: float) -> ObjectiveOutput:
    """The hinge on the four per-pair losses (B,) each: ``relu((L_e - L_e0) - (L_p - L_p0) + margin)``."""
    diff = (loss_e - loss_e_ref) - (loss_p - loss_p_ref)
    loss = torch.relu(diff + margin)
    metrics = {
        "diff": diff, "loss_e": loss_e, "loss_e_ref": loss_e_ref, "loss_p": loss_p, "loss_p_ref": loss_p_ref,
        "active": (diff + margin > 0).float(),
        # Pairs whose hinge the expert half alone opens (L_p0 >= 0 and, for fresh pairs, L_p = 0).
        "open_by_expert": (loss_e - loss_e_ref + margin > 0).float(),
    }
    return ObjectiveOutput(loss=loss, metrics={k: v.detach() for k, v in metrics.items()})


def lazy_fresh_dro(nets: Nets, batch: PairBatch, x_e: torch.Tensor, target_e: torch.Tensor,
                   margin: float) -> ObjectiveOutput:
    """DRO on fresh pairs, sampling a negative only where the expert half leaves the hinge undecided.

    Fresh pairs have L_p = 0 with zero gradient, so the hinge is ``relu(L_e - L_e0 + L_p0 + margin)``
    with L_p0 >= 0 a constant: where ``L_e - L_e0 + margin > 0`` it is open whatever L_p0 is, and the
    gradient is that of L_e. Only the other pairs need their negative (a policy rollout) and the
    reference's forward on it. The gradient equals the eager one; the logged ``loss`` leaves out the
    constant L_p0 of the pairs not sampled, and ``diff`` / ``loss_p_ref`` are NaN (not known) there.
    """
    model_e = nets.model(x_e, batch.t, batch.cond)
    with torch.no_grad():
        ref_e = nets.ref(x_e, batch.t, batch.cond)
    loss_e, loss_e_ref = per_sample_mse(model_e, target_e), per_sample_mse(ref_e, target_e)
    need = (loss_e.detach() - loss_e_ref + margin) <= 0
    loss_p_ref = torch.zeros_like(loss_e_ref)
    if bool(need.any()):
        x_p, out_p = batch.fetch_negatives(need)
        with torch.no_grad():
            loss_p_ref[need] = per_sample_mse(nets.ref(x_p, batch.t[need], batch.cond[need]), out_p)
    out = dro_hinge(loss_e, loss_e_ref, torch.zeros_like(loss_e), loss_p_ref, margin)
    for name in ("diff", "loss_p_ref"):
        out.metrics[name] = torch.where(need, out.metrics[name], torch.nan)
    out.metrics["negatives_sampled"] = need.float()
    return out


@dataclass
class DRO:
    margin: float = 1e-3
    name: str = "dro"
    needs_negatives: bool = True
    needs_reference: bool = True

    def __post_init__(self) -> None:
        if self.margin < 0:
            raise InputError(f"--margin must be >= 0, got {self.margin}.")

    def __call__(self, nets: Nets, batch: PairBatch) -> ObjectiveOutput:
        has_negatives = batch.x0_p is not None or batch.fetch_negatives is not None or (
            batch.x_p is not None and batch.out_p is not None)
        if nets.ref is None or not has_negatives:
            raise ValueError("DRO needs negatives (x_p and out_p, or x0_p) and a reference network")
        x_e = nets.noisy(batch.x0_e, batch.noise_e, batch.t)
        target_e = nets.target(batch.x0_e, batch.noise_e, batch.t)
        if batch.fetch_negatives is not None:
            return lazy_fresh_dro(nets, batch, x_e, target_e, self.margin)
        if batch.x0_p is not None:
            # Final-sample negatives: the policy's sample is noised with the expert's noise
            # (paired noise, as in Diffusion-DPO) and its target is that noise.
            x_p = nets.noisy(batch.x0_p, batch.noise_e, batch.t)
            target_p = nets.target(batch.x0_p, batch.noise_e, batch.t)
        else:
            x_p, target_p = batch.x_p, batch.out_p
        x = torch.cat([x_e, x_p])
        t = torch.cat([batch.t, batch.t])
        cond = Conditioning.cat([batch.cond, batch.cond])
        if batch.policy_is_model and batch.x0_p is None:
            # Fresh pairs: model(x_p) IS out_p (same weights, same input), so L_p = 0 and
            # its gradient is 0; only the expert half needs the model's forward and backward.
            model_e, model_p = nets.model(x_e, batch.t, batch.cond), batch.out_p
        else:
            model_e, model_p = nets.model(x, t, cond).chunk(2)  # experts and negatives in one forward
        with torch.no_grad():
            ref_e, ref_p = nets.ref(x, t, cond).chunk(2)
        return dro_loss(model_e, ref_e, target_e, model_p, ref_p, target_p, self.margin)
