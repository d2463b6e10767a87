"""HPSv2: an open_clip state dict written in the upstream layout, loaded onto a CLIPModel,
checked against a direct open_clip-style forward of the same weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from tiny_parts import PROMPTS, clip_vocab, normalise, tiny_clip_config

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score import load_scorer

WIDTH, LAYERS, HEADS, PATCH, IMAGE, CONTEXT, EMBED = 32, 2, 4, 8, 32, 16, 16
VOCAB = len(clip_vocab())


def open_clip_state() -> dict[str, torch.Tensor]:
    """Random weights under open_clip ``CLIP`` keys (ViT image tower, ``proj`` parameters, fused in_proj)."""
    gen = torch.Generator().manual_seed(4)

    def rand(*shape: int, scale: float = 0.2) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * scale

    state = {
        "visual.class_embedding": rand(WIDTH), "visual.positional_embedding": rand((IMAGE // PATCH) ** 2 + 1, WIDTH),
        "visual.conv1.weight": rand(WIDTH, 3, PATCH, PATCH), "visual.proj": rand(WIDTH, EMBED),
        "token_embedding.weight": rand(VOCAB, WIDTH), "positional_embedding": rand(CONTEXT, WIDTH),
        "text_projection": rand(WIDTH, EMBED), "logit_scale": torch.tensor(2.0),
    }
    for norm in ("visual.ln_pre", "visual.ln_post", "ln_final"):
        state[f"{norm}.weight"], state[f"{norm}.bias"] = 1 + rand(WIDTH), rand(WIDTH)
    for tower in ("visual.transformer", "transformer"):
        for i in range(LAYERS):
            p = f"{tower}.resblocks.{i}."
            for norm in ("ln_1", "ln_2"):
                state[p + norm + ".weight"], state[p + norm + ".bias"] = 1 + rand(WIDTH), rand(WIDTH)
            state[p + "attn.in_proj_weight"], state[p + "attn.in_proj_bias"] = rand(3 * WIDTH, WIDTH), rand(3 * WIDTH)
            state[p + "attn.out_proj.weight"], state[p + "attn.out_proj.bias"] = rand(WIDTH, WIDTH), rand(WIDTH)
            state[p + "mlp.c_fc.weight"], state[p + "mlp.c_fc.bias"] = rand(48, WIDTH), rand(48)
            state[p + "mlp.c_proj.weight"], state[p + "mlp.c_proj.bias"] = rand(WIDTH, 48), rand(WIDTH)
    return state


def _ln(s: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (WIDTH,), s[f"{name}.weight"], s[f"{name}.bias"], eps=1e-5)


def _blocks(s: dict, tower: str, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    for i in range(LAYERS):
        p = f"{tower}.resblocks.{i}."
        h = _ln(s, p + "ln_1", x).transpose(0, 1)  # nn.MultiheadAttention's (L, B, D)
        attn, _ = F.multi_head_attention_forward(
            h, h, h, WIDTH, HEADS, s[p + "attn.in_proj_weight"], s[p + "attn.in_proj_bias"], None, None, False, 0.0,
            s[p + "attn.out_proj.weight"], s[p + "attn.out_proj.bias"], training=False, need_weights=False,
            attn_mask=mask)
        x = x + attn.transpose(0, 1)
        h = F.gelu(F.linear(_ln(s, p + "ln_2", x), s[p + "mlp.c_fc.weight"], s[p + "mlp.c_fc.bias"]))
        x = x + F.linear(h, s[p + "mlp.c_proj.weight"], s[p + "mlp.c_proj.bias"])
    return x


def reference_hps(s: dict, pixels: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """open_clip's encode_image / encode_text, normalised, diagonal of image @ text.T."""
    x = F.conv2d(pixels, s["visual.conv1.weight"], stride=PATCH).flatten(2).transpose(1, 2)
    x = torch.cat([s["visual.class_embedding"].expand(x.shape[0], 1, -1), x], dim=1) + s["visual.positional_embedding"]
    x = _blocks(s, "visual.transformer", _ln(s, "visual.ln_pre", x), None)
    image = _ln(s, "visual.ln_post", x[:, 0]) @ s["visual.proj"]
    t = s["token_embedding.weight"][input_ids] + s["positional_embedding"]
    causal = torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1)
    t = _ln(s, "ln_final", _blocks(s, "transformer", t, causal))
    text = t[torch.arange(t.shape[0]), input_ids.argmax(dim=-1)] @ s["text_projection"]
    return (F.normalize(image, dim=-1) * F.normalize(text, dim=-1)).sum(-1)


@pytest.fixture
def hps_folder(tmp_path: Path, clip_tokenizer_dir: Path) -> Path:
    from transformers import CLIPTokenizer

    state = open_clip_state()
    state["attn_mask"] = torch.zeros(CONTEXT, CONTEXT)  # older open_clip saved this buffer
    torch.save({"state_dict": state, "epoch": 1}, tmp_path / "HPS_v2.1_compressed.pt")
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, tmp_path / "HPS_v2_compressed.pt")
    CLIPTokenizer.from_pretrained(clip_tokenizer_dir).save_pretrained(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["hpsv2", "hpsv2.1"])
def test_hpsv2_matches_open_clip_forward(name: str, hps_folder: Path, clip_tokenizer_dir: Path, images):
    from transformers import AutoTokenizer

    scorer = load_scorer(name, source=str(hps_folder), clip_config=tiny_clip_config())
    ids = AutoTokenizer.from_pretrained(clip_tokenizer_dir)(
        PROMPTS, padding="max_length", max_length=CONTEXT, return_tensors="pt")["input_ids"]
    expected = reference_hps(open_clip_state(), normalise(images), ids)
    torch.testing.assert_close(scorer(images, PROMPTS), expected, atol=1e-5, rtol=1e-4)


def test_hpsv2_batch_consistency(hps_folder: Path):
    scorer = load_scorer("hpsv2.1", source=str(hps_folder / "HPS_v2.1_compressed.pt"),
                         clip_config=tiny_clip_config(), tokenizer=str(hps_folder))
    images = torch.rand(3, 3, 40, 36, generator=torch.Generator().manual_seed(5))
    batched = scorer(images, PROMPTS[:3])
    single = torch.cat([scorer(images[i:i + 1], PROMPTS[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_hpsv2_foreign_keys(tmp_path: Path):
    state = open_clip_state()
    state["visual.attnpool.weight"] = torch.zeros(1)
    torch.save({"state_dict": state}, tmp_path / "hps.pt")
    with pytest.raises(ModelLoadError, match="no CLIPModel counterpart"):
        load_scorer("hpsv2.1", source=str(tmp_path / "hps.pt"), clip_config=tiny_clip_config())


def test_hpsv2_wrong_architecture(tmp_path: Path):
    torch.save({"state_dict": open_clip_state()}, tmp_path / "hps.pt")
    with pytest.raises(ModelLoadError, match="does not fit"):
        load_scorer("hpsv2.1", source=str(tmp_path / "hps.pt"), clip_config=tiny_clip_config(projection_dim=8))
