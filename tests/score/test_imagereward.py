"""ImageReward: tiny BLIP parts saved under ImageReward.pt's keys, loaded back, checked against the parts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_parts import PROMPTS, normalise
from torch import nn

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score import load_scorer

MEAN, STD = 0.16717362830052426, 1.0333394966054072


def tiny_configs(vocab_size: int):
    from transformers import BlipTextConfig, BlipVisionConfig

    vision = BlipVisionConfig(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8, layer_norm_eps=1e-6)
    text = BlipTextConfig(vocab_size=vocab_size, hidden_size=24, encoder_hidden_size=32, intermediate_size=40,
                          num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=40, is_decoder=True)
    return vision, text


def to_upstream_vision_key(key: str) -> str:
    """transformers BlipVisionModel key -> BLIP (timm ViT) key, written out independently of the loader."""
    fixed = {"embeddings.class_embedding": "cls_token", "embeddings.position_embedding": "pos_embed",
             "embeddings.patch_embedding.weight": "patch_embed.proj.weight",
             "embeddings.patch_embedding.bias": "patch_embed.proj.bias",
             "post_layernorm.weight": "norm.weight", "post_layernorm.bias": "norm.bias"}
    if key in fixed:
        return fixed[key]
    key = key.replace("encoder.layers.", "blocks.").replace("layer_norm1", "norm1").replace("layer_norm2", "norm2")
    return key.replace("self_attn.qkv", "attn.qkv").replace("self_attn.projection", "attn.proj")


@pytest.fixture
def parts(bert_tokenizer_dir: Path):
    from transformers import AutoTokenizer, BlipTextModel, BlipVisionModel

    tokenizer = AutoTokenizer.from_pretrained(bert_tokenizer_dir)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    vision_config, text_config = tiny_configs(len(tokenizer))
    torch.manual_seed(6)
    vision, text = BlipVisionModel(vision_config).eval(), BlipTextModel(text_config, add_pooling_layer=False).eval()
    mlp = nn.Module()
    mlp.layers = nn.Sequential(nn.Linear(24, 20), nn.Dropout(0.2), nn.Linear(20, 12), nn.Dropout(0.2),
                               nn.Linear(12, 8), nn.Dropout(0.1), nn.Linear(8, 4), nn.Linear(4, 1))
    return vision, text, mlp.eval(), tokenizer


@pytest.fixture
def checkpoint(parts, tmp_path: Path) -> Path:
    vision, text, mlp, _ = parts
    state = {f"blip.visual_encoder.{to_upstream_vision_key(k)}": v for k, v in vision.state_dict().items()}
    state.update({f"blip.text_encoder.{k}": v for k, v in text.state_dict().items()})
    state["blip.text_encoder.embeddings.position_ids"] = torch.arange(40).unsqueeze(0)
    state.update({f"mlp.{k}": v for k, v in mlp.state_dict().items()})
    state["blip.vision_proj.weight"], state["blip.text_proj.weight"] = torch.zeros(8, 32), torch.zeros(8, 24)
    torch.save(state, tmp_path / "ImageReward.pt")
    return tmp_path / "ImageReward.pt"


def reference(parts, images: torch.Tensor) -> torch.Tensor:
    vision, text, mlp, tokenizer = parts
    tokens = tokenizer(PROMPTS, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    with torch.no_grad():
        image_tokens = vision(pixel_values=normalise(images)).last_hidden_state
        hidden = text(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"],
                      encoder_hidden_states=image_tokens,
                      encoder_attention_mask=torch.ones(image_tokens.shape[:2], dtype=torch.long)).last_hidden_state
        return (mlp.layers(hidden[:, 0]).squeeze(-1) - MEAN) / STD


def test_imagereward_matches_reference(parts, checkpoint: Path, bert_tokenizer_dir: Path, images):
    scorer = load_scorer("imagereward", source=str(checkpoint), tokenizer=str(bert_tokenizer_dir),
                         configs=tiny_configs(len(parts[3])))
    scores = scorer(images, PROMPTS)
    torch.testing.assert_close(scores, reference(parts, images), atol=1e-5, rtol=1e-4)
    assert scorer.tokenizer.convert_tokens_to_ids("[ENC]") == len(parts[3]) - 1


def test_imagereward_batch_consistency(parts, checkpoint: Path, bert_tokenizer_dir: Path):
    scorer = load_scorer("imagereward", source=str(checkpoint.parent), tokenizer=str(bert_tokenizer_dir),
                         configs=tiny_configs(len(parts[3])))
    images = torch.rand(3, 3, 48, 40, generator=torch.Generator().manual_seed(7))
    batched = scorer(images, PROMPTS[:3])
    single = torch.cat([scorer(images[i:i + 1], PROMPTS[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_imagereward_wrong_architecture(parts, checkpoint: Path, bert_tokenizer_dir: Path):
    vision_config, text_config = tiny_configs(len(parts[3]))
    text_config.num_hidden_layers = 3
    with pytest.raises(ModelLoadError, match="text encoder weights .* do not match BLIP"):
        load_scorer("imagereward", source=str(checkpoint), tokenizer=str(bert_tokenizer_dir),
                    configs=(vision_config, text_config))
