"""Online negatives: what the rollout stores, per-sample grids, the buffer and the lagged policy."""

from __future__ import annotations

import torch

from diffusion_dro.train.buffer import ReplayBuffer
from diffusion_dro.train.keyed_rng import key_seed, keyed_randn
from diffusion_dro.train.policy import LaggedPolicy
from diffusion_dro.train.rollout import perturbed_grid, rollout

PROMPTS = ["a small red circle", "a large blue square", "a small green triangle"]


def _predict(backbone, calls=None):
    def predict(x, t, cond):
        out = backbone.unet(x, t, **cond.unet_kwargs()).sample
        if calls is not None:
            calls.append((x.clone(), t.clone(), out.clone()))
        return out
    return predict


def test_grid():
    assert perturbed_grid(1000, 4, 7) == [757, 507, 257, 7]


def test_stored_state_is_the_input_of_the_step_whose_output_is_stored(toy_backbone):
    b = toy_backbone
    cond = b.encode_prompts(PROMPTS)
    noise = torch.randn(3, *b.latent_shape(), generator=torch.Generator().manual_seed(0))
    calls = []
    grids = [perturbed_grid(1000, 5, o) for o in (0, 13, 199)]
    traj = rollout(_predict(b, calls), lambda: b.sampler("dpmsolver++"), cond, noise, grids)
    assert traj.x_t.shape == (3, 5, 3, 32, 32) and traj.out.shape == traj.x_t.shape
    for i, (x, t, out) in enumerate(calls):
        assert torch.equal(traj.x_t[:, i], x) and torch.equal(traj.out[:, i], out) and torch.equal(traj.t[:, i], t)
    assert traj.t.tolist() == grids
    assert torch.equal(traj.x_t[:, 0], noise)  # DPM-Solver's model input is the state itself


def test_per_sample_grids_equal_single_sample_runs(toy_backbone):
    b = toy_backbone
    cond = b.encode_prompts(PROMPTS)
    noise = torch.randn(3, *b.latent_shape(), generator=torch.Generator().manual_seed(1))
    grids = [perturbed_grid(1000, 6, o) for o in (0, 60, 140)]
    for name in ("dpmsolver++", "euler"):
        batched = rollout(_predict(b), lambda: b.sampler(name), cond, noise, grids)
        for i in range(3):
            alone = rollout(_predict(b), lambda: b.sampler(name), cond[i : i + 1], noise[i : i + 1], [grids[i]])
            torch.testing.assert_close(batched.final[i : i + 1], alone.final, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(batched.x_t[i], alone.x_t[0], atol=1e-4, rtol=1e-4)
        # Different grids give different trajectories (the reference's bug would make them share sample 0's).
        assert not torch.allclose(batched.final[1], rollout(_predict(b), lambda: b.sampler(name), cond[1:2],
                                                            noise[1:2], [grids[0]]).final[0], atol=1e-3)


def _push(buf: ReplayBuffer, start: int, n: int, backbone) -> None:
    cond = backbone.encode_prompts(["a small red circle"] * n)
    buf.push(x0_e=torch.zeros(n, 3, 4, 4), x_p=torch.arange(start, start + n).float().view(n, 1, 1, 1).expand(n, 3, 4, 4),
             t=torch.arange(n), out_p=torch.zeros(n, 3, 4, 4), cond=cond, key=torch.arange(start, start + n))


def test_buffer_fifo_draw_and_state(toy_backbone):
    buf = ReplayBuffer(capacity=5)
    _push(buf, 0, 3, toy_backbone)
    _push(buf, 3, 4, toy_backbone)
    assert len(buf) == 5 and buf.data["key"].tolist() == [2, 3, 4, 5, 6]  # the oldest two dropped
    drawn = buf.draw(5, torch.Generator().manual_seed(0))
    assert sorted(drawn["key"].tolist()) == [2, 3, 4, 5, 6]  # without replacement
    assert buf.data["uses"].tolist() == [1] * 5 and drawn["uses"].tolist() == [0] * 5
    assert len(ReplayBuffer.conditioning(drawn)) == 5
    copy = ReplayBuffer(1)
    copy.load_state_dict(buf.state_dict())
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(copy.draw(3, g1)["key"], buf.draw(3, g2)["key"])


def test_lagged_policy_refresh():
    p = torch.nn.Parameter(torch.zeros(2))
    policy = LaggedPolicy([p], refresh_every=2)
    policy.before_update(0)  # update 1 is not a refresh point: keep the current weights
    p.data += 1
    policy.after_update(1)
    with policy.active():
        assert p.tolist() == [0, 0]
    assert p.tolist() == [1, 1]
    policy.before_update(1)
    p.data += 1
    policy.after_update(2)  # refresh: the policy is the model again
    assert policy.snapshot is None
    every = LaggedPolicy([p], refresh_every=1)
    every.before_update(5)
    assert every.snapshot is None  # refreshing every update never copies


def test_keyed_randomness_is_stable_and_distinct():
    assert key_seed(0, "traj-noise", 3) == key_seed(0, "traj-noise", 3)
    assert key_seed(0, "traj-noise", 3) != key_seed(0, "traj-noise", 4) != key_seed(0, "flip", 3)
    assert torch.equal(keyed_randn((2, 2), 0, "expert-noise", 1, 0), keyed_randn((2, 2), 0, "expert-noise", 1, 0))
