"""Toy scorers: the judge reads renders; taste and adherence follow the ground truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_dro.errors import InputError
from diffusion_dro.score import load_scorer
from diffusion_dro.toy.render import render_batch
from diffusion_dro.toy.taste import Taste
from diffusion_dro.toy.world import sample_specs


def test_toy_taste_matches_true_taste_on_renders():
    specs = sample_specs(np.random.default_rng(5), 64, "all")
    images = (render_batch(specs) + 1) / 2
    prompts = [s.prompt for s in specs]
    taste = Taste()
    scores = load_scorer("toy-taste", taste=taste)(images, prompts)
    truth = np.array([taste.score_spec(s) for s in specs])
    assert np.abs(scores.numpy() - truth).max() < 0.05
    adherence = load_scorer("toy-adherence")(images, prompts)
    assert adherence.min() > 0.95
    wrong = load_scorer("toy-adherence")(images, [p.replace("circle", "square") if "circle" in p
                                                  else p.rsplit(" ", 1)[0] + " circle" for p in prompts])
    assert wrong.max() < 0.05


def test_toy_taste_from_json_and_size_check():
    scorer = load_scorer("toy-taste", taste='{"fill": {"outline": 1}}', batch_size=8)
    assert scorer.taste.fill["outline"] == 1.0
    with pytest.raises(InputError, match="32x32"):
        scorer(torch.zeros(1, 3, 64, 64), ["a small red circle"])
