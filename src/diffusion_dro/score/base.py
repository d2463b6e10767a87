"""The one scorer interface: ``(images, prompts) -> Tensor[B]``, higher is better.

Every scorer subclasses :class:`Scorer` and implements :meth:`Scorer.score_batch`,
a differentiable score of one batch already on the scorer's device. ``__call__``
adds what every caller needs: input checks, splitting into ``batch_size`` chunks,
no gradients, and a float32 result on the CPU.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from diffusion_dro.errors import InputError

__all__ = ["Scorer", "check_inputs"]

# Resampling can overshoot [0, 1] by a hair; anything beyond this is a wrong scale.
_RANGE_TOLERANCE = 1e-3


def check_inputs(images: torch.Tensor, prompts: list[str]) -> None:
    """Check the scorer contract: ``images`` (B, 3, H, W) floats in [0, 1], ``prompts`` B strings.

    Raises:
        InputError: naming the argument, the rule and the value seen.
    """
    if not isinstance(images, torch.Tensor):
        raise InputError(f"images must be a torch.Tensor of shape (B, 3, H, W); got {type(images).__name__}.")
    if images.ndim != 4 or images.shape[1] != 3:
        raise InputError(
            f"images must have shape (B, 3, H, W) (RGB, channels first); got {tuple(images.shape)}. "
            "Permute channels-last arrays with images.permute(0, 3, 1, 2)."
        )
    if not images.is_floating_point():
        raise InputError(
            f"images must be floats in [0, 1]; got dtype {images.dtype}. Convert uint8 images with images.float() / 255."
        )
    if images.numel() and (images.min() < -_RANGE_TOLERANCE or images.max() > 1 + _RANGE_TOLERANCE):
        raise InputError(
            f"images must hold values in [0, 1]; got min {images.min().item():.3f}, max {images.max().item():.3f}. "
            "Map decoder outputs in [-1, 1] with (x + 1) / 2."
        )
    if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
        raise InputError("prompts must be a list of strings, one per image; wrap a single prompt as [prompt].")
    if len(prompts) != images.shape[0]:
        raise InputError(
            f"images and prompts must have the same batch size; got {images.shape[0]} images and "
            f"{len(prompts)} prompts."
        )


class Scorer(ABC):
    """A frozen reward model scoring image-prompt pairs.

    Attributes:
        name: the registry name the scorer was built under.
        device: where the weights live and where ``score_batch`` runs.
        dtype: the weights' floating dtype; images are cast to it.
        batch_size: the largest chunk ``__call__`` passes to ``score_batch``.
    """

    name: str = "scorer"

    def __init__(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 batch_size: int = 16) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1; got {batch_size}.")
        self.device = torch.device(device)
        self.dtype = dtype
        self.batch_size = batch_size

    @abstractmethod
    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """Differentiable scores of one batch.

        Args:
            images: (B, 3, H, W) floats in [0, 1] on ``self.device`` with ``self.dtype``.
            prompts: B strings.

        Returns:
            (B,) scores on ``self.device``; higher is better.
        """

    def __call__(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """Score ``images`` (B, 3, H, W) in [0, 1] against ``prompts`` (B strings); returns (B,) float32 on CPU."""
        check_inputs(images, prompts)
        chunks = []
        with torch.no_grad():
            for start in range(0, images.shape[0], self.batch_size):
                batch = images[start:start + self.batch_size].to(self.device, self.dtype)
                scores = self.score_batch(batch, list(prompts[start:start + self.batch_size]))
                chunks.append(scores.reshape(-1).float().cpu())
        if not chunks:
            return torch.zeros(0)
        return torch.cat(chunks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, device={str(self.device)!r}, dtype={self.dtype})"
