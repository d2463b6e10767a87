"""The merged sampling copy (LoRA mode): same outputs as the adapter, re-synced only when the policy changes."""

from __future__ import annotations

import torch

from diffusion_dro.models.loading import load_backbone
from diffusion_dro.models.lora import attach_lora
from diffusion_dro.train.merged_policy import MergedSampler
from diffusion_dro.train.policy import LaggedPolicy


def _perturb(params, scale):
    with torch.no_grad():
        for p in params:
            p.add_(scale * torch.randn_like(p))


def test_merged_copy_matches_the_adapter_and_follows_the_policy_version():
    backbone = load_backbone("toy")
    unet = backbone.unet.requires_grad_(False)
    attach_lora(unet, rank=4, alpha=8, targets="all")  # alpha != rank: the delta's scale must be applied
    params = [p for p in unet.parameters() if p.requires_grad]
    _perturb(params, 0.05)
    merged = MergedSampler(unet)
    assert not any("lora" in n for n, _ in merged.plain.named_parameters())
    x, t = torch.randn(3, 3, 32, 32), torch.tensor([5, 400, 950])
    cond = backbone.encode_prompts(["a small red circle", "", "a large blue square"])

    def adapter_out():
        with torch.no_grad():
            return unet(x, t, **cond.unet_kwargs()).sample

    with torch.no_grad():
        torch.testing.assert_close(merged.predict(version=0)(x, t, cond), adapter_out(), atol=1e-5, rtol=1e-5)
        _perturb(params, 0.05)
        stale = merged.predict(version=0)(x, t, cond)  # same version: no re-sync
        assert not torch.allclose(stale, adapter_out(), atol=1e-4)
        torch.testing.assert_close(merged.predict(version=1)(x, t, cond), adapter_out(), atol=1e-5, rtol=1e-5)


def test_policy_version_changes_exactly_when_the_policy_values_do():
    w = torch.nn.Parameter(torch.zeros(2))
    policy = LaggedPolicy([w], refresh_every=2)
    versions = []
    for done in range(4):
        policy.before_update(done)
        with torch.no_grad():
            w.add_(1.0)
        policy.after_update(done + 1)
        versions.append(policy.version)
    # update 1: a snapshot keeps the old values (no change); update 2: refresh (change); and again.
    assert versions == [0, 1, 1, 2]
    every = LaggedPolicy([w], refresh_every=1)
    for done in range(3):
        every.before_update(done)
        every.after_update(done + 1)
    assert every.version == 3
