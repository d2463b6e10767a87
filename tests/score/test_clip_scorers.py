"""PickScore, CLIP score and the aesthetic predictor on a tiny CLIPModel saved as a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_parts import PROMPTS, normalise
from torch import nn

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score import load_scorer


def reference_cosines(folder: Path, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos (B,), logit_scale.exp()) from CLIPModel's own forward on 32 px images (preprocessing = normalising)."""
    from transformers import CLIPModel, CLIPTokenizer

    model = CLIPModel.from_pretrained(folder).eval()
    tokens = CLIPTokenizer.from_pretrained(folder)(PROMPTS, padding="max_length", max_length=16, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=tokens["input_ids"], pixel_values=normalise(images))
    return (out.image_embeds * out.text_embeds).sum(-1), model.logit_scale.exp().detach()


def test_pickscore_matches_reference(tiny_clip_dir: Path, images):
    scorer = load_scorer("pickscore", source=str(tiny_clip_dir))
    cos, scale = reference_cosines(tiny_clip_dir, images)
    torch.testing.assert_close(scorer(images, PROMPTS), scale * cos, atol=1e-5, rtol=1e-5)


def test_clip_score_is_100_relu_cos(tiny_clip_dir: Path, images):
    scorer = load_scorer("clip-score", source=str(tiny_clip_dir))
    cos, _ = reference_cosines(tiny_clip_dir, images)
    torch.testing.assert_close(scorer(images, PROMPTS), 100 * cos.clamp(min=0), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("name", ["pickscore", "clip-score"])
def test_batch_consistency_any_size(name: str, tiny_clip_dir: Path):
    scorer = load_scorer(name, source=str(tiny_clip_dir))
    images = torch.rand(3, 3, 45, 60, generator=torch.Generator().manual_seed(2))
    batched = scorer(images, PROMPTS[:3])
    one_by_one = torch.cat([scorer(images[i:i + 1], PROMPTS[i:i + 1]) for i in range(3)])
    assert batched.shape == (3,)
    torch.testing.assert_close(batched, one_by_one, atol=1e-5, rtol=1e-5)


def upstream_head(in_features: int) -> nn.Module:
    """The improved-aesthetic-predictor ``MLP`` (a ``layers`` Sequential), narrowed."""
    torch.manual_seed(3)
    mlp = nn.Module()
    mlp.layers = nn.Sequential(nn.Linear(in_features, 24), nn.Dropout(0.2), nn.Linear(24, 12), nn.Dropout(0.2),
                         nn.Linear(12, 8), nn.Dropout(0.1), nn.Linear(8, 4), nn.Linear(4, 1))
    return mlp.eval()


@pytest.mark.parametrize("file_name", ["sac+logos+ava1-l14-linearMSE.pth", "head.safetensors"])
def test_aesthetic_matches_reference(file_name: str, tiny_clip_dir: Path, tmp_path: Path, images):
    from safetensors.torch import save_file
    from transformers import CLIPModel

    head = upstream_head(16)
    if file_name.endswith(".pth"):
        torch.save(head.state_dict(), tmp_path / file_name)
        source = str(tmp_path)  # a folder holding the upstream file name
    else:
        save_file(head.state_dict(), tmp_path / file_name)
        source = str(tmp_path / file_name)
    scorer = load_scorer("aesthetic", source=source, clip=str(tiny_clip_dir))
    clip = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    with torch.no_grad():
        embeds = clip.vision_model(pixel_values=normalise(images)).pooler_output
        embeds = clip.visual_projection(embeds)
        expected = head.layers(embeds / embeds.norm(dim=-1, keepdim=True)).squeeze(-1)
    torch.testing.assert_close(scorer(images, PROMPTS), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(scorer(images[:1], PROMPTS[:1]), expected[:1], atol=1e-5, rtol=1e-5)


def test_aesthetic_head_width_mismatch(tiny_clip_dir: Path, tmp_path: Path):
    torch.save(upstream_head(768).state_dict(), tmp_path / "head.pth")
    with pytest.raises(ModelLoadError, match="768-d embeddings"):
        load_scorer("aesthetic", source=str(tmp_path / "head.pth"), clip=str(tiny_clip_dir))


def test_aesthetic_wrong_keys(tiny_clip_dir: Path, tmp_path: Path):
    torch.save({"weight": torch.zeros(1, 16)}, tmp_path / "head.pth")
    with pytest.raises(ModelLoadError, match="head weights must have exactly the keys"):
        load_scorer("aesthetic", source=str(tmp_path / "head.pth"), clip=str(tiny_clip_dir))


def test_clip_folder_missing(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_scorer("pickscore", source=str(tmp_path / "missing_folder"))
