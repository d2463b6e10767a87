"""Building each micro-step's training pairs: experts for SFT, experts + negatives for DRO.

Every random choice is keyed (see ``keyed_rng``) by a global id: trajectory ``j`` of
update ``u`` is the same trajectory whichever process or micro-step produces it,
so batch x accumulation splits and process counts change nothing but rounding.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from diffusion_dro.models.backbone import Backbone
from diffusion_dro.models.conditioning import Conditioning
from diffusion_dro.objectives import PairBatch
from diffusion_dro.train.buffer import ReplayBuffer, draw_indices
from diffusion_dro.train.keyed_rng import keyed_generator, keyed_randint, keyed_randn, keyed_uniform
from diffusion_dro.train.merged_policy import MergedSampler
from diffusion_dro.train.policy import LaggedPolicy
from diffusion_dro.train.rollout import Predict, grid_timesteps, perturbed_grid, rollout


@dataclass
class ExpertData:
    """Experts encoded once: latents (N, C, H, W) and those of the flipped images, on the CPU."""

    latents: torch.Tensor
    flipped: torch.Tensor
    prompts: list[str]

    def __len__(self) -> int:
        return len(self.prompts)


@torch.no_grad()
def encode_experts(backbone: Backbone, images: torch.Tensor, prompts: list[str], batch: int = 16) -> ExpertData:
    """``images`` (N, 3, R, R) in [-1, 1] -> latents via the VAE's mean (pixels for the toy)."""

    def enc(x: torch.Tensor) -> torch.Tensor:
        if backbone.vae is None:
            return x.float()
        vae = backbone.vae
        mean = vae.encode(x.to(vae.device, next(vae.parameters()).dtype)).latent_dist.mean
        return (mean * vae.config.scaling_factor).float().cpu()

    chunks = [images[i : i + batch] for i in range(0, len(images), batch)]
    return ExpertData(
        latents=torch.cat([enc(c) for c in chunks]),
        flipped=torch.cat([enc(c.flip(-1)) for c in chunks]),
        prompts=list(prompts),
    )


@dataclass
class _Plan:
    """One micro-step's trajectories before sampling: ids, their experts and prompts, initial noise, grids."""

    ids: list[int]
    x0: torch.Tensor  # (n, C, H, W) the trajectories' experts, on the CPU
    cond: Conditioning
    noise: torch.Tensor  # (n, C, H, W) x_T
    grids: list[list[int]]
    generators: list[torch.Generator]
    steps: torch.Tensor  # (n, k) the steps each trajectory contributes as pairs


class PairSource:
    """Makes the PairBatch of micro-step ``(update, micro)`` on process ``rank`` of ``world``."""

    def __init__(self, *, backbone: Backbone, experts: ExpertData, cfg, world: int, rank: int,
                 policy: LaggedPolicy | None = None, policy_predict: Predict | None = None,
                 merged: MergedSampler | None = None):
        self.backbone, self.experts, self.cfg = backbone, experts, cfg
        self.world, self.rank = world, rank
        self.policy, self.policy_predict, self.merged = policy, policy_predict, merged
        self.buffer = ReplayBuffer(cfg.buffer_size) if policy is not None else None
        self.num_train_timesteps = backbone.scheduler_config.get("num_train_timesteps", 1000)
        self._perms: dict[int, torch.Tensor] = {}
        self._grid_t: dict[tuple[int, ...], list[int]] = {}
        self.sampler_forwards = 0
        self._sampler = functools.partial(backbone.sampler, cfg.rollout_scheduler)  # a new scheduler per call

    # --- keyed choices per global id -----------------------------------------
    def item(self, gid: int) -> int:
        """Epoch-wise shuffled order: item of the ``gid``-th draw from the expert set."""
        n = len(self.experts)
        epoch = gid // n
        if epoch not in self._perms:
            self._perms = {epoch: torch.randperm(n, generator=keyed_generator(self.cfg.seed, "data", epoch))}
        return int(self._perms[epoch][gid % n])

    def _expert(self, gid: int) -> tuple[torch.Tensor, str]:
        i = self.item(gid)
        flip = self.cfg.random_flip and keyed_uniform(self.cfg.seed, "flip", gid) < 0.5
        drop = keyed_uniform(self.cfg.seed, "dropout", gid) < self.cfg.prompt_dropout
        return (self.experts.flipped if flip else self.experts.latents)[i], "" if drop else self.experts.prompts[i]

    def _first_id(self, update: int, micro: int, per_step: int) -> int:
        return ((update * self.cfg.grad_accumulation + micro) * self.world + self.rank) * per_step

    # --- batches ---------------------------------------------------------------
    def batch(self, update: int, micro: int) -> PairBatch:
        return self._dro_batch(update, micro) if self.buffer is not None else self._sft_batch(update, micro)

    def _sft_batch(self, update: int, micro: int) -> PairBatch:
        first = self._first_id(update, micro, self.cfg.batch_size)
        gids = range(first, first + self.cfg.batch_size)
        x0, prompts = zip(*(self._expert(g) for g in gids))
        x0 = torch.stack(x0)
        t = torch.tensor([keyed_randint(self.num_train_timesteps, self.cfg.seed, "expert-t", g) for g in gids])
        noise = torch.stack([keyed_randn(tuple(x0.shape[1:]), self.cfg.seed, "expert-noise", g, 0) for g in gids])
        dev, dt = self.backbone.device, self.backbone.dtype
        return PairBatch(x0_e=x0.to(dev, dt), noise_e=noise.to(dev, dt), t=t.to(dev),
                         cond=self.backbone.encode_prompts(list(prompts)))

    def _plan(self, update: int, micro: int) -> _Plan:
        """This micro-step's trajectories, everything about them but the network's outputs."""
        cfg, backbone = self.cfg, self.backbone
        first = self._first_id(update, micro, cfg.new_trajectories)
        ids = list(range(first, first + cfg.new_trajectories))
        x0, prompts = zip(*(self._expert(j) for j in ids))
        shape = backbone.latent_shape()
        stride = self.num_train_timesteps // cfg.rollout_steps
        offsets = [keyed_randint(stride, cfg.seed, "traj-offset", j) if cfg.perturb_timesteps else 0 for j in ids]
        steps = torch.stack([torch.randperm(cfg.rollout_steps, generator=keyed_generator(cfg.seed, "steps", j))
                             [: cfg.timesteps_per_trajectory] for j in ids])  # (n, k)
        return _Plan(
            ids=ids, x0=torch.stack(x0), cond=backbone.encode_prompts(list(prompts)),
            noise=torch.stack([keyed_randn(shape, cfg.seed, "traj-noise", j) for j in ids]).to(backbone.device,
                                                                                                backbone.dtype),
            grids=[perturbed_grid(self.num_train_timesteps, cfg.rollout_steps, o) for o in offsets],
            generators=[keyed_generator(cfg.seed, "traj-noise", j, 1) for j in ids], steps=steps)

    def _grid_timesteps(self, grid: list[int]) -> list[int]:
        # A scheduler per call costs milliseconds; there are only T / rollout_steps distinct grids.
        key = tuple(grid)
        if key not in self._grid_t:
            self._grid_t[key] = grid_timesteps(self._sampler, grid)
        return self._grid_t[key]

    def _rollout(self, plan: _Plan, which: list[int] | None = None, steps: int | None = None):
        """Trajectories ``which`` (positions in the plan; default all) of the policy, for ``steps`` steps."""
        which = list(range(len(plan.ids))) if which is None else which
        with self.policy.active():
            predict = self.policy_predict if self.merged is None else self.merged.predict(self.policy.version)
            traj = rollout(predict, self._sampler, plan.cond[which],
                           plan.noise[which], [plan.grids[i] for i in which], [plan.generators[i] for i in which],
                           steps=steps)
        self.sampler_forwards += len(which) * traj.t.shape[1]
        return traj

    def refill(self, update: int, micro: int) -> None:
        """Sample this micro-step's new policy trajectories into the buffer."""
        cfg = self.cfg
        plan = self._plan(update, micro)
        traj = self._rollout(plan)
        k = cfg.timesteps_per_trajectory
        by_model = update if self.policy.is_model else -1
        ids = plan.ids
        rows = torch.arange(len(ids)).repeat_interleave(k)
        x0_e, cond = plan.x0[rows], plan.cond.to("cpu")[rows]
        if cfg.negatives == "final":
            # k pairs per final sample, each at its own uniformly drawn t.
            keys = torch.tensor(ids).repeat_interleave(k) * k + torch.arange(k).repeat(len(ids))
            t = torch.tensor([keyed_randint(self.num_train_timesteps, cfg.seed, "neg-t", int(key)) for key in keys])
            self.buffer.push(x0_e=x0_e, t=t, cond=cond, key=keys, by_model=by_model, x0_p=traj.final.cpu()[rows])
            return
        cols = plan.steps.flatten()
        self.buffer.push(
            x0_e=x0_e, t=traj.t.cpu()[rows, cols], cond=cond,
            key=torch.tensor(ids).repeat_interleave(k) * cfg.rollout_steps + cols, by_model=by_model,
            x_p=traj.x_t.cpu()[rows, cols], out_p=traj.out.cpu()[rows, cols],
        )

    def _expert_noise(self, keys: torch.Tensor, uses: torch.Tensor) -> torch.Tensor:
        # Fresh expert noise on every use of a pair, keyed by the pair and its use count.
        shape = tuple(self.experts.latents.shape[1:])
        return torch.stack([keyed_randn(shape, self.cfg.seed, "expert-noise", int(k), int(u))
                            for k, u in zip(keys, uses)])

    def _dro_batch(self, update: int, micro: int) -> PairBatch:
        if self.cfg.negatives_on_demand:
            return self._lazy_batch(update, micro)
        self.refill(update, micro)
        cfg, backbone = self.cfg, self.backbone
        pairs = self.buffer.draw(cfg.batch_size, keyed_generator(cfg.seed, "draw", update, micro, self.rank))
        noise = self._expert_noise(pairs["key"], pairs["uses"])
        dev, dt = backbone.device, backbone.dtype
        negative = {k: pairs[k].to(dev, dt) for k in ("x_p", "out_p", "x0_p") if k in pairs}
        # Pairs sampled by the model during this update: the model has not changed since.
        fresh = bool((pairs["by_model"] == update).all())
        return PairBatch(x0_e=pairs["x0_e"].to(dev, dt), noise_e=noise.to(dev, dt), t=pairs["t"].to(dev),
                         cond=ReplayBuffer.conditioning(pairs).to(dev, dt), policy_is_model=fresh, **negative)

    def _lazy_batch(self, update: int, micro: int) -> PairBatch:
        """The pairs ``refill`` + ``draw`` would give, with each negative sampled only if the objective asks.

        A pair's t is its trajectory's grid point, known before sampling, so the expert half can be
        computed first; ``fetch(need)`` then runs only the trajectories that hold a needed pair, and
        only as far as the deepest needed step.
        """
        cfg, backbone = self.cfg, self.backbone
        plan = self._plan(update, micro)
        grid_t = torch.tensor([self._grid_timesteps(g) for g in plan.grids])  # (n, S)
        k = cfg.timesteps_per_trajectory
        rows = torch.arange(len(plan.ids)).repeat_interleave(k)
        cols = plan.steps.flatten()
        idx = draw_indices(len(rows), cfg.batch_size, keyed_generator(cfg.seed, "draw", update, micro, self.rank))
        rows, cols = rows[idx], cols[idx]
        keys = torch.tensor(plan.ids)[rows] * cfg.rollout_steps + cols
        dev, dt = backbone.device, backbone.dtype

        def fetch(need: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            need = need.cpu()
            which = sorted(set(rows[need].tolist()))
            traj = self._rollout(plan, which, steps=int(cols[need].max()) + 1)
            pos = torch.tensor([which.index(r) for r in rows[need].tolist()])
            return traj.x_t[pos, cols[need]].to(dev, dt), traj.out[pos, cols[need]].to(dev, dt)

        noise = self._expert_noise(keys, torch.zeros_like(keys))  # a fresh pair's first (and only) use
        return PairBatch(x0_e=plan.x0[rows].to(dev, dt), noise_e=noise.to(dev, dt), t=grid_t[rows, cols].to(dev),
                         cond=plan.cond[rows.to(plan.cond.hidden.device)].to(dev, dt), policy_is_model=True,
                         fetch_negatives=fetch)
