"""HPSv2 / HPSv2.1 (Wu et al. 2023): an open_clip ViT-H-14 fine-tuned on human preferences.

Score = cosine of the image and prompt embeddings (``image_features @ text_features.T``
on the diagonal, as HPSv2's ``score.py``), no logit scale: about 0.2-0.35.

Weights: ``xswu/HPSv2`` files ``HPS_v2_compressed.pt`` / ``HPS_v2.1_compressed.pt``, a
``{"state_dict": ...}`` of open_clip keys. :func:`open_clip_to_transformers` maps
them onto a transformers ``CLIPModel`` (open_clip's fused ``in_proj`` split into
q/k/v; ``proj`` matrices transposed into ``Linear`` weights), so open_clip is not
needed. The tokenizer is the CLIP BPE of ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``
(pads with id 0 like open_clip; padding cannot change the causal text encoder's
end-of-text feature).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import torch

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.score.clip_models import PICKSCORE_PROCESSOR, ClipSimilarityScorer
from diffusion_dro.score.weights import load_tokenizer, read_state_dict, resolve_file, tokenizer_source

__all__ = ["HPS_FILES", "load_hpsv2", "open_clip_to_transformers", "vit_h14_config"]

HPS_REPO = "xswu/HPSv2"
HPS_FILES = {"v2.0": "HPS_v2_compressed.pt", "v2.1": "HPS_v2.1_compressed.pt"}

# Buffers open_clip may save that a CLIPModel rebuilds itself.
_IGNORED = {"attn_mask", "visual.attn_mask"}
_TOP_LEVEL = {
    "visual.class_embedding": "vision_model.embeddings.class_embedding",
    "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "logit_scale": "logit_scale",
}
_PREFIXES = {
    "visual.ln_pre.": "vision_model.pre_layrnorm.",
    "visual.ln_post.": "vision_model.post_layernorm.",
    "ln_final.": "text_model.final_layer_norm.",
}
_TRANSPOSED = {"visual.proj": "visual_projection.weight", "text_projection": "text_projection.weight"}
_BLOCK_PARTS = {
    "ln_1.": "layer_norm1.", "ln_2.": "layer_norm2.", "attn.out_proj.": "self_attn.out_proj.",
    "mlp.c_fc.": "mlp.fc1.", "mlp.c_proj.": "mlp.fc2.",
}
_BLOCK = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$")


def open_clip_to_transformers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an open_clip CLIP state dict (pre-LN ViT image tower, ``proj`` parameters) to ``CLIPModel`` keys.

    Raises:
        ModelLoadError: listing keys with no counterpart (a different open_clip architecture).
    """
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        if key in _IGNORED:
            continue
        if key in _TOP_LEVEL:
            out[_TOP_LEVEL[key]] = value
        elif key in _TRANSPOSED:
            out[_TRANSPOSED[key]] = value.t().contiguous()
        elif (prefix := next((p for p in _PREFIXES if key.startswith(p)), None)) is not None:
            out[_PREFIXES[prefix] + key[len(prefix):]] = value
        elif (match := _BLOCK.match(key)) is not None:
            tower = "vision_model" if match.group(1) else "text_model"
            base = f"{tower}.encoder.layers.{match.group(2)}."
            rest = match.group(3)
            if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
                kind = rest.rsplit("_", 1)[1]  # open_clip stacks [q; k; v] along dim 0
                for name, part in zip(("q", "k", "v"), value.chunk(3, dim=0)):
                    out[f"{base}self_attn.{name}_proj.{kind}"] = part.contiguous()
            elif (part := next((p for p in _BLOCK_PARTS if rest.startswith(p)), None)) is not None:
                out[base + _BLOCK_PARTS[part] + rest[len(part):]] = value
            else:
                unknown.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise ModelLoadError(
            f"hpsv2: {len(unknown)} checkpoint keys have no CLIPModel counterpart, e.g. {unknown[:5]}; "
            "this is not an open_clip ViT CLIP checkpoint of the HPSv2 layout."
        )
    return out


def vit_h14_config() -> Any:
    """The ``CLIPConfig`` of open_clip ``ViT-H-14`` (the HPSv2 backbone): GELU, LayerNorm eps 1e-5."""
    from transformers import CLIPConfig

    return CLIPConfig(
        text_config=dict(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                         num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu",
                         layer_norm_eps=1e-5, bos_token_id=49406, eos_token_id=49407, pad_token_id=0),
        vision_config=dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                           image_size=224, patch_size=14, hidden_act="gelu", layer_norm_eps=1e-5),
        projection_dim=1024,
    )


def load_hpsv2(source: str | None = None, *, version: Literal["v2.0", "v2.1"] = "v2.1",
               device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               tokenizer: str | None = None, clip_config: Any = None, batch_size: int = 16) -> ClipSimilarityScorer:
    """HPSv2 scorer from ``source``: a ``.pt`` file, a folder holding ``HPS_FILES[version]``, or a hub repo.

    Args:
        version: which file to take from a folder or the hub (``xswu/HPSv2`` by default).
        tokenizer: tokenizer folder or hub id (default: ``source`` folder if it has one,
            else ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``).
        clip_config: the architecture, default :func:`vit_h14_config` (tests pass tiny ones).
    """
    from transformers import CLIPModel

    what = f"hpsv{version[1:]}"
    if version not in HPS_FILES:
        raise ModelLoadError(f"hpsv2: version must be one of {sorted(HPS_FILES)}; got {version!r}.")
    path = resolve_file(source or HPS_REPO, HPS_FILES[version], what)
    mapped = open_clip_to_transformers(read_state_dict(path, what))
    model = CLIPModel(clip_config if clip_config is not None else vit_h14_config())
    try:
        result = model.load_state_dict(mapped, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise ModelLoadError(f"{what}: checkpoint {str(path)!r} does not fit the CLIP architecture ({err}).") from err
    if result.missing_keys or result.unexpected_keys:
        raise ModelLoadError(
            f"{what}: checkpoint {str(path)!r} does not fill the ViT-H-14 CLIPModel: missing "
            f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}."
        )
    model = model.to(device=device, dtype=dtype)
    tok = load_tokenizer(tokenizer_source(source, tokenizer, PICKSCORE_PROCESSOR), what)
    return ClipSimilarityScorer(model, tok, name=what, scale=1.0, batch_size=batch_size)
