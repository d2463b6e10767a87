"""Scorers of the toy world, read from pixels by the toy judge.

``toy-taste`` is a simulated user's expected taste (``Taste.score_probs``) and
``toy-adherence`` the probability that shape and colour both match the prompt.
``source`` is a judge folder (default: the shipped judge).
"""

from __future__ import annotations

import torch

from diffusion_dro.errors import InputError
from diffusion_dro.score.base import Scorer
from diffusion_dro.toy.judge import ToyJudge, load_judge
from diffusion_dro.toy.taste import Taste, adherence_prob, parse_taste


class _JudgeScorer(Scorer):
    def __init__(self, judge: ToyJudge, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 batch_size: int = 256) -> None:
        super().__init__(device, dtype, batch_size)
        judge = judge.to(device=self.device)
        if judge.dtype != dtype:  # diffusers' .to(dtype) warns even with no fp32-only modules, so only if needed
            judge = judge.to(dtype=dtype)
        self.judge = judge.eval().requires_grad_(False)

    def _probs(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.shape[-2:] != (32, 32):
            raise InputError(f"toy scorers read 32x32 images; got {tuple(images.shape[-2:])}. Score toy-model images.")
        return {k: v.float().softmax(-1) for k, v in self.judge(images * 2 - 1).items()}


class ToyTasteScorer(_JudgeScorer):
    def __init__(self, judge: ToyJudge, taste: Taste, **kwargs) -> None:
        super().__init__(judge, **kwargs)
        self.taste = taste

    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        return self.taste.score_probs(self._probs(images), prompts)


class ToyAdherenceScorer(_JudgeScorer):
    def score_batch(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        return adherence_prob(self._probs(images), prompts)


def load_toy_taste(source: str | None = None, *, device="cpu", dtype=torch.float32,
                   taste: Taste | str | None = None, batch_size: int = 256) -> ToyTasteScorer:
    taste = taste if isinstance(taste, Taste) else parse_taste(taste)
    return ToyTasteScorer(load_judge(source), taste, device=device, dtype=dtype, batch_size=batch_size)


def load_toy_adherence(source: str | None = None, *, device="cpu", dtype=torch.float32,
                       batch_size: int = 256) -> ToyAdherenceScorer:
    return ToyAdherenceScorer(load_judge(source), device=device, dtype=dtype, batch_size=batch_size)
