"""The replay buffer of DRO negatives: a FIFO of training pairs.

A pair is (expert x0, policy input x_t, timestep t, policy output at x_t,
conditioning, key, use count, ``by_model``: the update during which the policy
that sampled it was the model itself, or -1), or with ``--negatives final`` the policy's final
sample in place of (x_t, output). Each new trajectory contributes ``timesteps_per_trajectory``
of its steps; draws are uniform over what the buffer holds (without replacement
while the buffer is large enough). Everything is tensors, so the buffer saves
with a checkpoint and comes back exactly.
"""

from __future__ import annotations

import torch

from diffusion_dro.models.conditioning import Conditioning

COND_FIELDS = ("hidden", "pooled", "time_ids")


def draw_indices(size: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` of ``size`` pairs: without replacement while there are enough, else with."""
    if size == 0:
        raise RuntimeError("draw from an empty replay buffer")
    return torch.randperm(size, generator=generator)[:n] if n <= size else torch.randint(size, (n,), generator=generator)


class ReplayBuffer:
    def __init__(self, capacity: int):
        if capacity <= 0:
            raise ValueError(f"buffer capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.data: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return 0 if not self.data else len(self.data["t"])

    def push(self, *, x0_e: torch.Tensor, t: torch.Tensor, cond: Conditioning, key: torch.Tensor,
             by_model: int = -1, **negative: torch.Tensor) -> None:
        """Append pairs (leading axis N on every tensor); the oldest drop out past capacity.

        ``negative`` is ``x_p=, out_p=`` (trajectory states) or ``x0_p=`` (final samples).
        ``by_model``: the optimizer update during which the sampling policy equalled the model.
        """
        new = {"x0_e": x0_e, "t": t.long(), **negative, "key": key.long(),
               "uses": torch.zeros(len(key), dtype=torch.long), "by_model": torch.full((len(key),), by_model)}
        for name in COND_FIELDS:
            if (v := getattr(cond, name)) is not None:
                new[f"cond.{name}"] = v
        new = {k: v.detach().cpu() for k, v in new.items()}
        if len({len(v) for v in new.values()}) != 1:
            raise ValueError("every pushed tensor needs the same leading size")
        self.data = new if not self.data else {k: torch.cat([self.data[k], new[k]]) for k in self.data}
        self.data = {k: v[-self.capacity :] for k, v in self.data.items()}

    def draw(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        idx = draw_indices(len(self), n, generator)
        drawn = {k: v[idx] for k, v in self.data.items()}
        self.data["uses"][idx] += 1  # a pair's use count keys its fresh expert noise
        return drawn

    @staticmethod
    def conditioning(pairs: dict[str, torch.Tensor]) -> Conditioning:
        return Conditioning(**{name: pairs.get(f"cond.{name}") for name in COND_FIELDS})

    def state_dict(self) -> dict:
        return {"capacity": self.capacity, "data": dict(self.data)}

    def load_state_dict(self, state: dict) -> None:
        self.capacity = state["capacity"]
        self.data = dict(state["data"])
        if self.data and "by_model" not in self.data:  # checkpoints from before the column existed
            self.data["by_model"] = torch.full_like(self.data["key"], -1)
