"""Text conditioning as one batched object, whatever the backbone.

SD1.5 and the toy need only ``hidden`` (the UNet's ``encoder_hidden_states``);
SDXL adds a pooled text embedding and size/crop ``time_ids``. Indexing, joining
and moving keep all parts together, so buffers and CFG never split them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class Conditioning:
    hidden: torch.Tensor  # (B, T, D)
    pooled: torch.Tensor | None = None  # (B, P), SDXL only
    time_ids: torch.Tensor | None = None  # (B, 6), SDXL only

    def __len__(self) -> int:
        return self.hidden.shape[0]

    def _map(self, fn) -> Conditioning:
        return Conditioning(**{f.name: None if (v := getattr(self, f.name)) is None else fn(v) for f in fields(self)})

    def __getitem__(self, idx) -> Conditioning:
        return self._map(lambda t: t[idx])

    def to(self, device=None, dtype: torch.dtype | None = None) -> Conditioning:
        return self._map(lambda t: t.to(device=device, dtype=dtype if t.is_floating_point() else None))

    def detach(self) -> Conditioning:
        return self._map(torch.Tensor.detach)

    def repeat(self, n: int) -> Conditioning:
        """Each item repeated ``n`` times in a row: (B, ...) -> (B*n, ...)."""
        return self._map(lambda t: t.repeat_interleave(n, dim=0))

    @staticmethod
    def cat(parts: list[Conditioning]) -> Conditioning:
        first = parts[0]
        return Conditioning(
            **{
                f.name: None if getattr(first, f.name) is None else torch.cat([getattr(p, f.name) for p in parts])
                for f in fields(first)
            }
        )

    def unet_kwargs(self) -> dict:
        kwargs: dict = {"encoder_hidden_states": self.hidden}
        if self.pooled is not None:
            kwargs["added_cond_kwargs"] = {"text_embeds": self.pooled, "time_ids": self.time_ids}
        return kwargs
