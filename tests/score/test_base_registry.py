"""The interface contract, the registry, user scorers and loading errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import diffusion_dro.score as score
from diffusion_dro.errors import InputError, ModelLoadError
from diffusion_dro.score import SCORERS, Scorer, load_scorer
from diffusion_dro.score.preprocess import resize_center_crop

from tiny_parts import PROMPTS


def test_public_api_is_explicit():
    assert sorted(score.__all__) == sorted(set(score.__all__))
    for name in score.__all__:
        assert hasattr(score, name)


def test_registry_names():
    assert {"pickscore", "clip-score", "aesthetic", "hpsv2", "hpsv2.1", "imagereward", "user"} <= set(SCORERS)


def test_unknown_name_lists_choices():
    with pytest.raises(InputError, match="unknown scorer 'pickscor'") as info:
        load_scorer("pickscor")
    assert str(sorted(SCORERS)) in str(info.value)


@pytest.mark.parametrize("name", ["aesthetic", "hpsv2", "hpsv2.1", "imagereward", "pickscore", "clip-score"])
def test_missing_local_weights(name: str, tmp_path: Path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_scorer(name, source=str(tmp_path / "nowhere" / "weights.pt"))


def test_folder_without_weights_file(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="has no 'HPS_v2.1_compressed.pt'"):
        load_scorer("hpsv2.1", source=str(tmp_path))


class _Mean(Scorer):
    name = "mean"

    def score_batch(self, images, prompts):
        return images.mean(dim=(1, 2, 3)) + torch.tensor([len(p) for p in prompts], dtype=images.dtype)


def test_call_batches_and_returns_cpu_float(images):
    scorer = _Mean(batch_size=3)
    scores = scorer(images, PROMPTS)
    assert scores.shape == (4,) and scores.dtype == torch.float32
    torch.testing.assert_close(scores, _Mean(batch_size=16)(images, PROMPTS))


@pytest.mark.parametrize(
    ("images", "prompts", "message"),
    [
        (torch.rand(2, 3, 8, 8), ["a"], "same batch size"),
        (torch.rand(2, 8, 8, 3), ["a", "b"], r"shape \(B, 3, H, W\)"),
        (torch.rand(2, 3, 8, 8) * 2 - 1, ["a", "b"], r"values in \[0, 1\]"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), ["a", "b"], "floats"),
        (torch.rand(1, 3, 8, 8), "a", "list of strings"),
    ],
)
def test_bad_inputs(images, prompts, message):
    with pytest.raises(InputError, match=message):
        _Mean()(images, prompts)


def test_user_scorer_from_file(tmp_path: Path, images):
    (tmp_path / "my_reward.py").write_text(
        "def brightness(images, prompts):\n    return images.mean(dim=(1, 2, 3))\n"
        "def wrong(images, prompts):\n    return [1.0]\n"
    )
    scorer = load_scorer("user", source=f"{tmp_path / 'my_reward.py'}:brightness")
    torch.testing.assert_close(scorer(images, PROMPTS), images.mean(dim=(1, 2, 3)))
    with pytest.raises(InputError, match="must return 4 scores"):
        load_scorer("user", source=f"{tmp_path / 'my_reward.py'}:wrong")(images, PROMPTS)


def test_user_scorer_from_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images):
    (tmp_path / "dro_test_rewards.py").write_text("def prompt_length(images, prompts):\n    return [len(p) for p in prompts]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    scorer = load_scorer("user", source="dro_test_rewards:prompt_length")
    assert scorer.name == "user"
    torch.testing.assert_close(scorer(images, PROMPTS), torch.tensor([9.0, 17.0, 5.0, 5.0]))
    with pytest.raises(InputError, match="module:function"):
        load_scorer("user", source="no_colon")
    with pytest.raises(InputError, match="no attribute"):
        load_scorer("user", source="dro_test_rewards:not_a_thing")


def test_resize_center_crop():
    image = torch.rand(1, 3, 40, 64)
    out = resize_center_crop(image, 20)
    assert out.shape == (1, 3, 20, 20)
    torch.testing.assert_close(resize_center_crop(image[..., :40], 40), image[..., :40])
    flat = torch.full((1, 3, 50, 70), 0.3)
    torch.testing.assert_close(resize_center_crop(flat, 32), torch.full((1, 3, 32, 32), 0.3))
    square = torch.rand(1, 3, 32, 48)
    torch.testing.assert_close(resize_center_crop(square, 32), square[..., :, 8:40])
