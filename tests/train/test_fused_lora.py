"""Fused LoRA training (``--fused-lora``): peft's outputs and adapter gradients, the same training run."""

from __future__ import annotations

import json

import pytest
import torch
from peft import LoraConfig
from safetensors.torch import load_file

from diffusion_dro.errors import InputError
from diffusion_dro.models.fused_lora import FusedLoRA
from diffusion_dro.models.loading import load_backbone
from diffusion_dro.models.lora import attach_lora
from diffusion_dro.train.config import TrainConfig
from diffusion_dro.train.loop import train


def _lora_unet(rank=4, alpha=8):
    backbone = load_backbone("toy")
    unet = backbone.unet.requires_grad_(False)
    attach_lora(unet, rank=rank, alpha=alpha, targets="all")  # alpha != rank: the merged delta must carry the scale
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_B" in name:  # B starts at zero, which would hide a wrong product
                p.normal_(0, 0.05)
    return backbone, unet


def test_fused_forward_and_adapter_gradients_equal_peft():
    backbone, unet = _lora_unet()
    fused = FusedLoRA(unet)
    trainable = [p for p in unet.parameters() if p.requires_grad]
    assert trainable and {id(p) for p in fused.parameters() if p.requires_grad} == {id(p) for p in trainable}
    x, t = torch.randn(3, 3, 32, 32), torch.tensor([5, 400, 950])
    cond = backbone.encode_prompts(["a small red circle", "", "a large blue square"])
    target = torch.randn(3, 3, 32, 32)

    def out_and_grads(net):
        out = net(x, t, **cond.unet_kwargs()).sample
        return out.detach(), torch.autograd.grad((out - target).pow(2).mean(), trainable)

    peft_out, peft_grads = out_and_grads(unet)
    fused_out, fused_grads = out_and_grads(fused)
    torch.testing.assert_close(fused_out, peft_out, atol=2e-5, rtol=1e-5)
    assert all(g.abs().sum() > 0 for g in peft_grads)
    for a, b in zip(fused_grads, peft_grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-3)
    assert all(p.grad is None for p in unet.parameters())  # nothing accumulated behind the caller's back


def test_fused_refuses_an_adapter_a_merged_weight_cannot_express():
    unet = load_backbone("toy").unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, lora_dropout=0.1, target_modules=["to_q"]))
    with pytest.raises(ValueError, match="dropout or DoRA"):
        FusedLoRA(unet)


@pytest.mark.parametrize("objective", ["sft", "dro"])
def test_a_fused_run_trains_like_a_peft_run(tmp_path, toy_expert_dir, objective):
    common = dict(experts=toy_expert_dir, objective=objective, max_steps=3, batch_size=4, new_trajectories=2,
                  timesteps_per_trajectory=2, buffer_size=4, rollout_steps=4, lora_rank=4, progress=False,
                  checkpoint_every=100, device="cpu")
    runs = {mode: train(TrainConfig(out=str(tmp_path / mode), fused_lora=mode, **common)) for mode in ("on", "off")}
    losses = {mode: [json.loads(line)["loss"] for line in (tmp_path / mode / "metrics.jsonl").read_text().splitlines()]
              for mode in runs}
    assert len(losses["on"]) == 3
    assert losses["on"] == pytest.approx(losses["off"], rel=1e-4, abs=1e-7)
    on, off = (load_file(runs[m] / "pytorch_lora_weights.safetensors") for m in ("on", "off"))
    assert on.keys() == off.keys()
    for key in on:
        torch.testing.assert_close(on[key], off[key], atol=1e-5, rtol=1e-3)


def test_fused_lora_option_is_checked():
    with pytest.raises(InputError, match="--fused-lora must be auto, on or off"):
        TrainConfig(out="x", experts="y", max_steps=1, fused_lora="yes")
    with pytest.raises(InputError, match="--full trains no adapter"):
        TrainConfig(out="x", experts="y", max_steps=1, full=True, fused_lora="on")
