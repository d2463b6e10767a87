"""Lazy negatives: fresh pairs' negatives sampled only where the expert half leaves the hinge open to doubt.

The claim to hold: the same pairs, the same hinge states and the same gradient as sampling every
negative up front, for fewer sampler forwards.
"""

from __future__ import annotations

import json

import torch

from diffusion_dro.data.expert_read import load_expert_images, read_expert_set
from diffusion_dro.models.loading import load_backbone
from diffusion_dro.objectives import Nets, make_objective
from diffusion_dro.train.config import TrainConfig
from diffusion_dro.train.loop import train
from diffusion_dro.train.networks import TrainNetworks
from diffusion_dro.train.pairs import PairSource, encode_experts
from diffusion_dro.train.policy import LaggedPolicy


def _source(cfg: TrainConfig, backbone, nets, experts) -> PairSource:
    return PairSource(backbone=backbone, experts=experts, cfg=cfg, world=1, rank=0,
                      policy=LaggedPolicy(nets.trainable, 1), policy_predict=nets.predictor(nets.unet))


def test_lazy_negatives_give_the_eager_pairs_hinges_and_gradient(tmp_path, toy_expert_dir):
    make = lambda lazy: TrainConfig(out=str(tmp_path / "run"), experts=toy_expert_dir, max_steps=1,  # noqa: E731
                                    rollout_steps=4, lazy_negatives=lazy, device="cpu", lora_rank=4)
    backbone = load_backbone("toy")
    torch.manual_seed(0)
    nets = TrainNetworks(backbone, make(True), needs_reference=True)
    with torch.no_grad():
        for p in nets.trainable:
            p.add_(0.05 * torch.randn_like(p))
    records = read_expert_set(toy_expert_dir)
    experts = encode_experts(backbone, load_expert_images(records, backbone.resolution), [r.prompt for r in records])
    model = nets.predictor(nets.unet)

    def ref(x, t, cond):  # a reference worse than the model at high t: those pairs' hinges need L_p0
        return nets.ref_predict(x, t, cond) + 0.2 * (t > 500).float().view(-1, 1, 1, 1)

    sched = backbone.training_scheduler()
    fns = Nets(model=model, ref=ref, noisy=sched.add_noise, target=lambda x0, eps, t: eps)
    results = {}
    for lazy in (False, True):
        source = _source(make(lazy), backbone, nets, experts)
        assert source.cfg.negatives_on_demand == lazy
        batch = source.batch(0, 0)
        out = make_objective("dro")(fns, batch)
        nets.unet.zero_grad()
        out.loss.mean().backward()
        grad = torch.cat([p.grad.flatten() for p in nets.trainable])
        results[lazy] = batch, out, grad, source.sampler_forwards
    (eb, eo, eg, ef), (lb, lo, lg, lf) = results[False], results[True]
    for name in ("x0_e", "noise_e", "t"):
        assert torch.equal(getattr(eb, name), getattr(lb, name)), name
    sampled = lo.metrics["negatives_sampled"].bool()
    assert 0 < sampled.sum() < len(sampled)  # the test covers both kinds of pair
    assert torch.equal(eo.metrics["active"], lo.metrics["active"])
    torch.testing.assert_close(lo.metrics["loss_p_ref"][sampled], eo.metrics["loss_p_ref"][sampled],
                               rtol=1e-4, atol=1e-7)
    assert torch.isnan(lo.metrics["loss_p_ref"][~sampled]).all()
    torch.testing.assert_close(lg, eg, rtol=1e-4, atol=1e-8)
    assert lf < ef  # fewer sampler forwards


def test_a_lazy_run_logs_finite_means_and_the_share_of_negatives_sampled(tmp_path, toy_expert_dir):
    train(TrainConfig(out=str(tmp_path / "run"), experts=toy_expert_dir, max_steps=3, batch_size=4,
                      new_trajectories=2, timesteps_per_trajectory=2, buffer_size=4, rollout_steps=4, lora_rank=4,
                      progress=False, device="cpu"))
    text = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "NaN" not in text
    rows = [json.loads(ln) for ln in text.splitlines()]
    assert all(0 <= r["negatives_sampled"] <= 1 and r["loss_p"] == 0 and r["active"] > 0 for r in rows)
