"""LoRA adapters on a UNet through peft, saved in the diffusers format.

Files are ``pytorch_lora_weights.safetensors`` with ``unet.``-prefixed keys, the
layout ``pipe.load_lora_weights`` reads. The adapter's ``LoraConfig`` is stored in
the file's metadata: without it a reload guesses ``lora_alpha = r`` and silently
uses the wrong scale whenever they differ.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

from diffusion_dro.errors import InputError, ModelLoadError

WEIGHT_NAME = "pytorch_lora_weights.safetensors"
ATTENTION = ("to_q", "to_k", "to_v", "to_out.0")
# Also the ResNet convolutions and time projections: what changes textures and backgrounds.
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "attention": ATTENTION,
    "attention+ff": (*ATTENTION, "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2"),
    "all": (*ATTENTION, "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1", "conv2", "time_emb_proj"),
}


def attach_lora(
    unet: torch.nn.Module,
    rank: int,
    alpha: float | None = None,
    targets: str = "attention",
    adapter_name: str = "default",
) -> LoraConfig:
    """Add a trainable LoRA adapter (B initialised to zero, so the output is unchanged)."""
    if rank <= 0:
        raise InputError(f"--lora-rank must be a positive integer, got {rank}.")
    if targets not in LORA_TARGETS:
        raise InputError(f"--lora-targets {targets!r} is unknown; choose one of {sorted(LORA_TARGETS)}.")
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha if alpha is not None else rank,
        init_lora_weights="gaussian",
        target_modules=list(LORA_TARGETS[targets]),
    )
    unet.add_adapter(config, adapter_name=adapter_name)
    return config


def plain_unet(unet: torch.nn.Module, private: Iterable[torch.Tensor] = ()) -> torch.nn.Module:
    """A frozen copy of a LoRA UNet without its peft layers, sharing every tensor but those in ``private``.

    peft's layers add Python dispatch and two small matmuls to every wrapped layer even with
    adapters disabled; the plain copy runs the base maths alone (a 12% faster forward on the
    toy). Shared tensors cost no memory; ``private`` ones (weights the caller will overwrite,
    as the merged sampler does) are copied.
    """
    private_ids = {id(t) for t in private}
    memo = {id(t): t for t in [*unet.parameters(), *unet.buffers()] if id(t) not in private_ids}
    shared = set(memo)  # before deepcopy adds its own entries
    plain = copy.deepcopy(unet, memo)
    plain.unload_lora()  # diffusers: replaces every peft layer by its base layer, weights untouched
    for p in plain.parameters():
        if id(p) not in shared:  # the copies; shared tensors keep the model's own flags
            p.requires_grad_(False)
    return plain.eval()


def lora_state_dict(unet: torch.nn.Module, adapter_name: str = "default") -> dict[str, torch.Tensor]:
    """The adapter's weights in peft naming (``...lora_A.weight``; no ``unet.`` prefix yet).

    Not ``convert_state_dict_to_diffusers``: it renames attention keys to the old
    ``lora.down/up`` form but leaves ResNet/feed-forward keys as ``lora_A/B``, and a
    file mixing both loads with the attention adapters silently dropped.
    """
    return get_peft_model_state_dict(unet, adapter_name=adapter_name)


def save_lora(unet: torch.nn.Module, folder: str | Path, adapter_name: str = "default") -> Path:
    """Write ``folder/pytorch_lora_weights.safetensors`` with the adapter's config as metadata."""
    folder = Path(folder)
    StableDiffusionPipeline.save_lora_weights(
        save_directory=folder,
        unet_lora_layers={k: v.detach().float().cpu().contiguous() for k, v in lora_state_dict(unet, adapter_name).items()},
        unet_lora_adapter_metadata=unet.peft_config[adapter_name].to_dict(),
        safe_serialization=True,
    )
    return folder / WEIGHT_NAME


def load_lora(unet: torch.nn.Module, folder: str | Path, adapter_name: str = "default") -> None:
    """Load a diffusers-format LoRA folder (as written by ``save_lora`` or diffusers' trainers) into ``unet``."""
    folder = Path(folder)
    file = folder / WEIGHT_NAME
    if not file.is_file():
        raise ModelLoadError(
            f"--adapter {str(folder)!r} has no {WEIGHT_NAME}. Give a LoRA folder written by 'dro train' "
            "(RUN/final) or by a diffusers LoRA trainer."
        )
    try:
        unet.load_lora_adapter(str(folder), weight_name=WEIGHT_NAME, prefix="unet", adapter_name=adapter_name)
    except Exception as e:
        raise ModelLoadError(
            f"could not load the LoRA adapter {file}: {type(e).__name__}: {str(e)[:300]}. Check that it was "
            "trained for this model and that the file is complete."
        ) from e


def lora_file(folder: str | Path, option: str = "--init-adapter") -> Path:
    """``folder``'s LoRA weights file, or an error naming ``option`` when it has none."""
    file = Path(folder) / WEIGHT_NAME
    if not file.is_file():
        raise InputError(f"{option} {str(folder)!r} has no {WEIGHT_NAME}; give a LoRA run's final/ folder.")
    return file


def copy_lora_from(unet: torch.nn.Module, folder: str | Path, adapter_name: str = "default") -> None:
    """Overwrite the attached adapter's weights with those of a saved LoRA folder (``--init-adapter``).

    The adapter must already be attached with the same rank, alpha and targets: a mismatch is an
    error naming both, never a silent partial load or a wrong scale.
    """
    import json

    from peft import set_peft_model_state_dict
    from safetensors import safe_open

    file = lora_file(folder)
    mine = lora_state_dict(unet, adapter_name)
    with safe_open(str(file), "pt") as f:
        theirs = {k.removeprefix("unet."): f.get_tensor(k) for k in f.keys()}
        meta = json.loads((f.metadata() or {}).get("lora_adapter_metadata", "{}"))
    config = unet.peft_config[adapter_name]
    saved_alpha = meta.get("unet.lora_alpha", config.lora_alpha)
    wrong = sorted(set(mine) ^ set(theirs)) or [k for k in mine if mine[k].shape != theirs[k].shape]
    if wrong or saved_alpha != config.lora_alpha:
        raise InputError(
            f"--init-adapter {file} does not fit this run's adapter (rank {config.r}, alpha {config.lora_alpha}"
            f"{'' if not wrong else f'; first differing tensor {wrong[0]}'}; saved alpha {saved_alpha}). "
            "Pass the --lora-rank, --lora-alpha and --lora-targets it was trained with.")
    set_peft_model_state_dict(unet, theirs, adapter_name=adapter_name)
