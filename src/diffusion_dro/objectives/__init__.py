"""Training objectives: each a pure loss on tensors plus a ~20-line adapter the loop calls.

The loop never branches on the objective: it asks ``needs_negatives`` (whether to
fill the replay buffer) and calls ``objective(nets, batch)``. Add DPO or KTO by
adding a module and an entry in :data:`OBJECTIVES`.
"""

from __future__ import annotations

from diffusion_dro.errors import InputError
from diffusion_dro.objectives.base import Nets, Objective, ObjectiveOutput, PairBatch
from diffusion_dro.objectives.dro import DRO, dro_loss
from diffusion_dro.objectives.sft import SFT, sft_loss

__all__ = ["OBJECTIVES", "DRO", "SFT", "Nets", "Objective", "ObjectiveOutput", "PairBatch", "dro_loss",
           "make_objective", "sft_loss"]

OBJECTIVES: dict[str, type[Objective]] = {"dro": DRO, "sft": SFT}


def make_objective(name: str, margin: float = 1e-3) -> Objective:
    if name not in OBJECTIVES:
        raise InputError(f"--objective {name!r} is unknown; choose one of {sorted(OBJECTIVES)}.")
    return DRO(margin=margin) if name == "dro" else OBJECTIVES[name]()
