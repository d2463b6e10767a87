"""The toy world: renders, split, prompts, tastes, tokenizer and the shipped judge."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from diffusion_dro.errors import InputError
from diffusion_dro.toy.components import write_tokenizer
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.toy.judge_train import judge_accuracy
from diffusion_dro.toy.render import render, render_batch
from diffusion_dro.toy.taste import Taste, parse_taste
from diffusion_dro.toy.world import (
    ATTRIBUTES,
    HELDOUT_PAIRS,
    TRAIN_PAIRS,
    Spec,
    parse_prompt,
    prompts_for,
    sample_specs,
)


def test_render_is_deterministic_and_anti_aliased():
    spec = Spec("circle", "red", "large", "plain", "mid", "filled", "centred", seed=3)
    a, b = render(spec), render(spec)
    assert a.shape == (32, 32, 3) and a.dtype == np.float32 and np.array_equal(a, b)
    red = a[..., 0]
    # Anti-aliased edge: some pixels are strictly between background (0.5) and shape (0.9).
    assert ((red > 0.52) & (red < 0.88)).sum() > 10
    assert a[16, 16].tolist() == pytest.approx([0.9, 0.1, 0.1])


def test_nuisances_change_pixels_but_not_identity():
    base = Spec("square", "blue", "small", "plain", "dark", "filled", "centred", seed=0)
    for field, value in [("background", "noisy"), ("level", "light"), ("fill", "outline"), ("offset", "off")]:
        other = Spec(**(base.to_dict() | {field: value}))
        assert not np.allclose(render(base), render(other)), field
        assert other.prompt == base.prompt


def test_heldout_split_is_disjoint_and_documented():
    assert len(HELDOUT_PAIRS) == 8 and len(TRAIN_PAIRS) == 32
    assert not HELDOUT_PAIRS & set(TRAIN_PAIRS)
    assert {s for _, s in HELDOUT_PAIRS} == set(ATTRIBUTES["shape"])  # every shape is held out once
    specs = sample_specs(np.random.default_rng(0), 2000, "train")
    assert not {(s.colour, s.shape) for s in specs} & HELDOUT_PAIRS
    assert len(prompts_for("heldout")) == 16 and len(prompts_for("train")) == 64


def test_parse_prompt_errors_name_the_unknown_word_and_the_form():
    assert parse_prompt("a small red circle").shape == "circle"
    with pytest.raises(InputError, match=r"\['banana'\].*a \{size\} \{colour\} \{shape\}"):
        parse_prompt("a small banana circle")
    with pytest.raises(InputError, match="not of the form"):
        parse_prompt("a red small circle")


def test_taste_scores_and_parsing():
    taste = Taste()
    best = Spec("circle", "red", "large", "gradient", "light", "filled", "centred")
    worst = Spec("circle", "red", "large", "noisy", "dark", "outline", "off")
    assert taste.score_spec(best) == pytest.approx(1 + 0.5 + 0.5 + 0.5 + 1) == taste.max_score
    assert taste.score_spec(worst) == pytest.approx(-1 - 0.5 - 0.5 - 0.5 + 1)
    other = parse_taste('{"fill": {"outline": 2}, "adherence": 0}')
    assert other.score_spec(worst) == 2.0 and other.score_spec(best) == 0.0


def test_taste_from_file_and_probabilities(tmp_path):
    path = tmp_path / "taste.json"
    path.write_text(json.dumps({"background": {"gradient": 1}}))
    taste = parse_taste(str(path))
    probs = {k: torch.full((1, len(v)), 1 / len(v)) for k, v in ATTRIBUTES.items()}
    probs["background"] = torch.tensor([[0.0, 0.0, 1.0]])
    expected = 1.0 + 1.0 * (1 / 5) * (1 / 8)  # gradient for sure; shape and colour at chance
    assert taste.score_probs(probs, ["a small red circle"]).item() == pytest.approx(expected)


@pytest.mark.parametrize(
    "text,match",
    [
        ("{fill: 1}", "not valid JSON"),
        ('{"colour": {"red": 1}}', "unknown attribute 'colour'"),
        ('{"fill": {"striped": 1}}', "no value 'striped'"),
        ('{"fill": {"outline": "high"}}', "must be a number"),
        ("[1, 2]", "must be a JSON object"),
        ("no-such-file.json", "neither JSON"),
    ],
)
def test_malformed_taste_is_named(text, match):
    with pytest.raises(InputError, match=match):
        parse_taste(text)


def test_word_level_tokenizer(tmp_path):
    tok = write_tokenizer(tmp_path)
    ids = tok("a large purple diamond").input_ids
    assert tok.convert_ids_to_tokens(ids) == [
        "<|startoftext|>", "a</w>", "large</w>", "purple</w>", "diamond</w>", "<|endoftext|>"
    ]


def test_shipped_judge_reads_every_attribute():
    """Per-attribute accuracy >= 98% on fresh renders (seed unseen in training)."""
    acc = judge_accuracy(load_judge(), n=1024, seed=123)
    assert min(acc.values()) >= 0.98, acc


def test_render_batch_range():
    x = render_batch(sample_specs(np.random.default_rng(1), 4))
    assert x.shape == (4, 3, 32, 32) and x.min() >= -1 and x.max() <= 1


def test_pretrain_continues_from_a_model_folder(tmp_path):
    """--init starts from the given folder's weights (the shipped base here) instead of fresh ones."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    from diffusion_dro.toy.assets import asset_path
    from diffusion_dro.toy.pretrain import PretrainConfig, pretrain

    def weights(model) -> torch.Tensor:
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    shipped = asset_path("base")
    base_unet = weights(UNet2DConditionModel.from_pretrained(shipped, subfolder="unet"))
    # A learning rate of ~0 keeps the weights where they started: the final model is the init model.
    final = pretrain(PretrainConfig(out=str(tmp_path / "cont"), init="toy", steps=2, batch_size=4, lr=1e-12,
                                    warmup_steps=1, checkpoint_every=10))
    torch.testing.assert_close(weights(UNet2DConditionModel.from_pretrained(final, subfolder="unet")), base_unet)
    torch.testing.assert_close(weights(CLIPTextModel.from_pretrained(final, subfolder="text_encoder")),
                               weights(CLIPTextModel.from_pretrained(shipped, subfolder="text_encoder")), atol=0, rtol=0)
    fresh = pretrain(PretrainConfig(out=str(tmp_path / "fresh"), steps=2, batch_size=4, lr=1e-12, warmup_steps=1,
                                    checkpoint_every=10))
    assert not torch.allclose(weights(UNet2DConditionModel.from_pretrained(fresh, subfolder="unet")), base_unet)
    with pytest.raises(InputError, match="--init .*not a toy model folder"):
        PretrainConfig(out=str(tmp_path / "bad"), init=str(tmp_path), steps=1)
    assert not (tmp_path / "bad").exists()  # refused before anything is written
