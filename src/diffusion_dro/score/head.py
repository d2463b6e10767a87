"""The MLP head shared by the LAION aesthetic predictor v2 and ImageReward.

Layout of ``improved-aesthetic-predictor``'s ``MLP`` (and ImageReward's copy), so
their state dicts load key for key (``layers.0`` ... ``layers.7``)::

    layers.0 Linear(in, 1024)   layers.1 Dropout(0.2)
    layers.2 Linear(1024, 128)  layers.3 Dropout(0.2)
    layers.4 Linear(128, 64)    layers.5 Dropout(0.1)
    layers.6 Linear(64, 16)     layers.7 Linear(16, 1)

No activations: the head is affine. Widths are read from the weights, so tiny test
heads load the same way.
"""

from __future__ import annotations

import torch
from torch import nn

from diffusion_dro.errors import ModelLoadError

__all__ = ["PreferenceHead"]

_LINEAR_INDICES = (0, 2, 4, 6, 7)
_DROPOUTS = {1: 0.2, 3: 0.2, 5: 0.1}


class PreferenceHead(nn.Module):
    """Affine MLP head: features (B, in) -> scores (B, 1).

    Args:
        widths: the six feature sizes along the head, default ``(768, 1024, 128, 64, 16, 1)``.
    """

    def __init__(self, widths: tuple[int, ...] = (768, 1024, 128, 64, 16, 1)) -> None:
        super().__init__()
        if len(widths) != 6:
            raise ValueError(f"widths must list 6 sizes (input, 4 hidden, output); got {widths}.")
        modules: list[nn.Module] = []
        linear = 0
        for index in range(8):
            if index in _DROPOUTS:
                modules.append(nn.Dropout(_DROPOUTS[index]))
            else:
                modules.append(nn.Linear(widths[linear], widths[linear + 1]))
                linear += 1
        self.layers = nn.Sequential(*modules)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, in) -> (B, 1)."""
        return self.layers(features)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], what: str) -> "PreferenceHead":
        """Build a head whose widths match ``state`` (keys ``layers.{0,2,4,6,7}.{weight,bias}``) and load it."""
        expected = {f"layers.{i}.{p}" for i in _LINEAR_INDICES for p in ("weight", "bias")}
        if set(state) != expected:
            raise ModelLoadError(
                f"{what}: head weights must have exactly the keys {sorted(expected)}; missing "
                f"{sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)[:8]}."
            )
        widths = (state["layers.0.weight"].shape[1], *(state[f"layers.{i}.weight"].shape[0] for i in _LINEAR_INDICES))
        head = cls(tuple(int(w) for w in widths))
        try:
            head.load_state_dict(state)
        except RuntimeError as err:
            raise ModelLoadError(f"{what}: head weights have inconsistent shapes ({err}).") from err
        return head
