"""The training loop on the toy: what trains, what stays frozen, accumulation splits, outputs."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from diffusion_dro.data.expert_read import load_expert_images, read_expert_set
from diffusion_dro.models.loading import load_backbone
from diffusion_dro.train.config import TrainConfig
from diffusion_dro.train.loop import train
from diffusion_dro.train.networks import TrainNetworks
from diffusion_dro.train.pairs import PairSource, encode_experts
from diffusion_dro.train.policy import LaggedPolicy

FAST = dict(rollout_steps=4, progress=False, checkpoint_every=100, device="cpu")


def cfg(tmp_path, experts, name="run", **kw) -> TrainConfig:
    return TrainConfig(out=str(tmp_path / name), experts=experts, **{**FAST, **kw})


def test_lora_dro_changes_every_adapter_weight_and_no_base_weight(tmp_path, toy_expert_dir):
    # buffer > new pairs per step: the second update reuses pairs the first policy made (L_p > 0).
    final = train(cfg(tmp_path, toy_expert_dir, max_steps=3, batch_size=4, new_trajectories=2,
                      timesteps_per_trajectory=2, buffer_size=8, lora_rank=4))
    weights = load_file(final / "pytorch_lora_weights.safetensors")
    base = load_backbone("toy").unet
    tuned = load_backbone("toy", adapter=str(final)).unet
    assert weights and all(v.abs().sum() > 0 for v in weights.values())  # B starts at 0: every tensor moved
    before = {k: v for k, v in base.state_dict().items()}
    tuned.disable_adapters()
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 500])
    cond = load_backbone("toy").encode_prompts(["a small red circle"] * 2)
    assert torch.equal(tuned(x, t, **cond.unet_kwargs()).sample, base(x, t, **cond.unet_kwargs()).sample)
    base_keys = {k.replace(".base_layer", "") for k in tuned.state_dict() if "lora" not in k}
    assert base_keys == set(before)
    metrics = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["update"] for m in metrics] == [1, 2, 3]
    assert all(k in metrics[0] for k in ("loss", "diff", "loss_e", "loss_e_ref", "loss_p", "loss_p_ref", "active",
                                         "lr", "grad_norm", "pairs_per_s"))
    assert metrics[-1]["loss_p"] > 0  # stale pairs: the model has moved away from the policy that made them


def test_full_sft_changes_every_weight(tmp_path, toy_expert_dir):
    final = train(cfg(tmp_path, toy_expert_dir, objective="sft", full=True, max_steps=2, batch_size=4,
                      learning_rate=1e-4))
    base, tuned = load_backbone("toy").unet, load_backbone(str(final)).unet
    assert json.loads((final / "dro_base.json").read_text()) == {"base": "toy"}
    changed = {k: not torch.equal(v, tuned.state_dict()[k]) for k, v in base.state_dict().items()}
    assert all(changed.values()), [k for k, c in changed.items() if not c][:5]


def test_reference_with_adapters_off_is_the_base_bit_exactly(toy_backbone, tmp_path, toy_expert_dir):
    backbone = load_backbone("toy")
    base_unet = load_backbone("toy").unet
    nets = TrainNetworks(backbone, cfg(tmp_path, toy_expert_dir, max_steps=1), needs_reference=True)
    with torch.no_grad():
        for p in nets.trainable:
            p.add_(0.1)  # a trained-looking adapter
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([3, 900])
    cond = backbone.encode_prompts(["a large red square", ""])
    with torch.no_grad():
        assert torch.equal(nets.ref_predict(x, t, cond), base_unet(x, t, **cond.unet_kwargs()).sample)
        assert not torch.equal(nets.predictor(nets.unet)(x, t, cond), nets.ref_predict(x, t, cond))


@pytest.mark.parametrize("objective", ["dro", "sft"])
def test_batch_by_accumulation_splits_give_the_same_update(tmp_path, toy_expert_dir, objective):
    # 1 pair x 4 micro-steps vs 4 pairs x 1: same pairs (keyed randomness), same mean gradient.
    common = dict(objective=objective, max_steps=2, timesteps_per_trajectory=1, learning_rate=1e-3,
                  lora_rank=4, prompt_dropout=0.5)
    a = train(cfg(tmp_path, toy_expert_dir, "a", batch_size=1, grad_accumulation=4, new_trajectories=1, buffer_size=1,
                  **common))
    b = train(cfg(tmp_path, toy_expert_dir, "b", batch_size=4, grad_accumulation=1, new_trajectories=4, buffer_size=4,
                  **common))
    wa, wb = load_file(a / "pytorch_lora_weights.safetensors"), load_file(b / "pytorch_lora_weights.safetensors")
    for k in wa:
        # Adam divides by sqrt(v): near-zero gradients amplify rounding, so compare against the step size.
        torch.testing.assert_close(wa[k], wb[k], atol=2e-4, rtol=1e-3)
    la = [json.loads(x)["loss"] for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    lb = [json.loads(x)["loss"] for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert la == pytest.approx(lb, rel=1e-4, abs=1e-7)


def test_fresh_pairs_hold_the_models_own_output(tmp_path, toy_expert_dir):
    """The fresh-pair shortcut's premise: pairs sampled during this update carry model(x_p) as out_p."""
    c = cfg(tmp_path, toy_expert_dir, max_steps=2, batch_size=4, new_trajectories=2, timesteps_per_trajectory=2,
            buffer_size=8, lora_rank=4)
    backbone = load_backbone("toy")
    nets = TrainNetworks(backbone, c, needs_reference=True)
    with torch.no_grad():
        for p in nets.trainable:
            p.add_(0.05 * torch.randn_like(p))  # a trained-looking adapter
    records = read_expert_set(toy_expert_dir)
    experts = encode_experts(backbone, load_expert_images(records, backbone.resolution), [r.prompt for r in records])
    policy = LaggedPolicy(nets.trainable, refresh_every=1)
    source = PairSource(backbone=backbone, experts=experts, cfg=c, world=1, rank=0, policy=policy,
                        policy_predict=nets.predictor(nets.unet))
    batch = source.batch(0, 0)
    assert batch.policy_is_model
    with torch.no_grad():
        own = nets.predictor(nets.unet)(batch.x_p, batch.t, batch.cond)
    torch.testing.assert_close(own, batch.out_p, atol=1e-5, rtol=1e-5)
    assert not torch.equal(batch.out_p, nets.ref_predict(batch.x_p, batch.t, batch.cond))
    # One update later the first pairs are stale: a draw that includes them is not marked.
    policy.before_update(0)
    with torch.no_grad():
        for p in nets.trainable:
            p.add_(0.01)
    policy.after_update(1)
    source.refill(1, 0)
    assert source.buffer.data["by_model"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_fresh_pairs_train_with_zero_policy_loss(tmp_path, toy_expert_dir):
    """Buffer == new pairs per update: every negative comes from the current model, so L_p = 0."""
    train(cfg(tmp_path, toy_expert_dir, max_steps=3, batch_size=4, new_trajectories=2, timesteps_per_trajectory=2,
              buffer_size=4, lora_rank=4, lazy_negatives=False))  # every negative sampled, so L_p0 is known
    metrics = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(m["loss_p"] == 0 for m in metrics) and metrics[-1]["loss_p_ref"] > 1e-6


def test_final_sample_negatives_train_and_carry_a_policy_loss(tmp_path, toy_expert_dir):
    """--negatives final: the policy's samples are noised like experts, so L_p > 0 from the first update."""
    final = train(cfg(tmp_path, toy_expert_dir, max_steps=2, batch_size=4, new_trajectories=1,
                      timesteps_per_trajectory=4, buffer_size=4, lora_rank=4, negatives="final"))
    metrics = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(m["loss_p"] > 0 and m["loss_p_ref"] > 0 for m in metrics)
    assert metrics[0]["loss_p"] == pytest.approx(metrics[0]["loss_p_ref"])  # model == ref before the first update
    assert (final / "pytorch_lora_weights.safetensors").is_file()


def test_min_snr_weighting_scales_the_trained_loss(tmp_path, toy_expert_dir):
    # Same first batch in every run (keyed draws): gamma above every SNR is the plain loss
    # bit-exactly; gamma 1e-3 is below the SNR of all but the noisiest timesteps of the toy's
    # linear schedule, so it weighs (nearly) every pair below 1 and the optimised loss shrinks.
    def first(name, **kw):
        final = train(cfg(tmp_path, toy_expert_dir, name=name, objective="sft", max_steps=1, batch_size=4, **kw))
        metrics = json.loads((tmp_path / name / "metrics.jsonl").read_text().splitlines()[0])
        return metrics, load_file(final / "pytorch_lora_weights.safetensors")

    plain, w_plain = first("plain", snr_gamma=0)  # 0 = off: every pair weighs 1
    default, _ = first("default")  # gamma 5: the noisiest pairs keep weight 1, the cleanest weigh less
    huge, w_huge = first("huge", snr_gamma=1e12)
    low, _ = first("low", snr_gamma=1e-3)
    assert plain["loss"] == pytest.approx(plain["loss_e"])
    assert huge["loss"] == plain["loss"] and all(torch.equal(w_plain[k], w_huge[k]) for k in w_plain)
    assert low["loss_e"] == plain["loss_e"] and low["loss"] < 0.5 * plain["loss"]
    assert default["loss_e"] == plain["loss_e"] and low["loss"] < default["loss"] <= plain["loss"]


def test_init_adapter_starts_from_a_saved_adapter_and_refuses_one_that_does_not_fit(tmp_path, toy_expert_dir):
    """The next round of a feedback loop: the adapter starts where the last run ended; the reference stays the base."""
    from diffusion_dro.errors import InputError

    first = train(cfg(tmp_path, toy_expert_dir, "first", objective="sft", max_steps=2, batch_size=4, lora_rank=4,
                      lora_alpha=8, ema_decay=0))
    saved = load_file(first / "pytorch_lora_weights.safetensors")
    backbone = load_backbone("toy")
    nets = TrainNetworks(backbone, cfg(tmp_path, toy_expert_dir, "next", max_steps=1, lora_rank=4, lora_alpha=8,
                                       init_adapter=str(first)), needs_reference=True)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 700])
    cond = backbone.encode_prompts(["a small red circle", ""])
    reloaded = load_backbone("toy", adapter=str(first)).unet
    with torch.no_grad():
        assert torch.allclose(nets.predictor(nets.unet)(x, t, cond), reloaded(x, t, **cond.unet_kwargs()).sample,
                              atol=1e-6)  # the same function as the saved adapter, alpha/r = 2 included
        assert torch.equal(nets.ref_predict(x, t, cond), load_backbone("toy").unet(x, t, **cond.unet_kwargs()).sample)
    assert len(nets.trainable) == len(saved) and all(p.requires_grad for p in nets.trainable)

    for kw, match in ((dict(lora_rank=8, lora_alpha=16), "does not fit"), (dict(lora_rank=4), "saved alpha 8")):
        with pytest.raises(InputError, match=match):
            TrainNetworks(load_backbone("toy"), cfg(tmp_path, toy_expert_dir, "bad", max_steps=1,
                                                    init_adapter=str(first), **kw), needs_reference=True)
    with pytest.raises(InputError, match="has no pytorch_lora_weights"):
        train(cfg(tmp_path, toy_expert_dir, "none", max_steps=1, init_adapter=str(tmp_path)))
    with pytest.raises(InputError, match="cannot be combined with --full"):
        cfg(tmp_path, toy_expert_dir, "full", max_steps=1, full=True, init_adapter=str(first))
