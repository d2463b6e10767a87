"""The fine-tuning loop, generic over objectives: setup, train step, save, resume.

``train(cfg)`` reads top to bottom: check inputs and the run folder; load the
backbone and encode the experts; build networks, optimizer, schedule, EMA and the
lagged policy; restore a checkpoint if resuming; then per optimizer update run
``grad_accumulation`` micro-steps (pairs -> objective -> backward), clip, step,
log, and checkpoint. accelerate provides the device, autocast, DDP and gradient
reduction; the LR (``lr_schedule``) and EMA move once per update, on every process alike.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast, gather_object, set_seed
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from diffusion_dro.data.expert_read import load_expert_images, read_expert_set
from diffusion_dro.errors import InputError
from diffusion_dro.models.loading import load_backbone, resolve_ref
from diffusion_dro.models.lora import lora_file, save_lora
from diffusion_dro.models.schedulers import check_scheduler_name
from diffusion_dro.objectives import Nets, make_objective
from diffusion_dro.objectives.weighting import min_snr_weights
from diffusion_dro.train.checkpointing import atomic_dir, list_checkpoints
from diffusion_dro.train.config import TrainConfig
from diffusion_dro.train.lr_schedule import budget_progress, lr_factor
from diffusion_dro.train.metrics_log import MetricsLog
from diffusion_dro.train.merged_policy import MergedSampler
from diffusion_dro.train.networks import TrainNetworks
from diffusion_dro.train.pairs import PairSource, encode_experts
from diffusion_dro.train.policy import LaggedPolicy
from diffusion_dro.train.rollout import check_rollout_scheduler
from diffusion_dro.train.state import read_checkpoint, write_checkpoint


def _check_run_folder(cfg: TrainConfig, out: Path) -> None:
    has_state = bool(list_checkpoints(out)) or (out / "final").exists()
    if has_state and not cfg.resume:
        raise InputError(f"--out {out} already holds a run; pass --resume to continue it or choose another --out.")
    saved = out / "config.json"
    if cfg.resume and saved.is_file():
        before = TrainConfig(**json.loads(saved.read_text())).result_fields()
        changed = sorted(k for k, v in cfg.result_fields().items() if before.get(k) != v)
        if changed:
            diffs = ", ".join(f"--{k.replace('_', '-')} {before.get(k)!r} -> {getattr(cfg, k)!r}" for k in changed)
            raise InputError(f"--resume with different options than the run in {out}: {diffs}. "
                             "Resume with the run's options, or start a new --out.")


def _plan(cfg: TrainConfig, n_experts: int, world: int) -> str:
    pairs = cfg.batch_size * cfg.grad_accumulation * world
    lines = [f"objective {cfg.objective} on {cfg.model} ({'full' if cfg.full else f'LoRA r={cfg.lora_rank}'}), "
             f"{n_experts} experts from {cfg.experts}",
             f"{pairs} pairs per update ({cfg.batch_size} x {cfg.grad_accumulation} accumulation x {world} processes), "
             f"budget: {cfg.max_steps or 'no'} updates, {cfg.max_minutes or 'no'} minutes"]
    if cfg.objective == "dro":
        fwd = cfg.new_trajectories * cfg.rollout_steps / cfg.batch_size
        lines.append(f"negatives: {cfg.new_trajectories} trajectories x {cfg.rollout_steps} {cfg.rollout_scheduler} steps "
                     f"per micro-step, {cfg.timesteps_per_trajectory} kept each, buffer {cfg.buffer_size} pairs, "
                     f"{fwd:.1f} sampler forwards per pair"
                     + (" at most (a negative is sampled only where its hinge needs it)" if cfg.negatives_on_demand
                        else "") + f", policy refresh every {cfg.policy_refresh} updates")
    return "\n".join(lines)


def train(cfg: TrainConfig) -> Path | None:
    """Fine-tune ``cfg.model`` on ``cfg.experts``; returns ``RUN/final`` (None for ``--dry-run``)."""
    out = Path(cfg.out)
    objective = make_objective(cfg.objective, cfg.margin)
    check_scheduler_name(cfg.rollout_scheduler)
    records = read_expert_set(cfg.experts)
    if cfg.init_adapter is not None:
        lora_file(cfg.init_adapter)  # before minutes of model loading
    _check_run_folder(cfg, out)
    resolve_ref(cfg.model)
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    accelerator = Accelerator(cpu=cpu, mixed_precision=cfg.mixed_precision)
    world, rank, main = accelerator.num_processes, accelerator.process_index, accelerator.is_main_process
    if cfg.dry_run:
        if main:
            print(_plan(cfg, len(records), world))
        return None

    # --- setup -------------------------------------------------------------------
    backbone = load_backbone(cfg.model, device=accelerator.device, resolution=cfg.resolution, progress=cfg.progress)
    backbone.check_prompts([r.prompt for r in records])
    check_rollout_scheduler(backbone.sampler(cfg.rollout_scheduler), cfg.rollout_scheduler)
    experts = encode_experts(backbone, load_expert_images(records, backbone.resolution), [r.prompt for r in records])
    set_seed(cfg.seed)  # the LoRA A matrices are drawn from the global RNG
    nets = TrainNetworks(backbone, cfg, objective.needs_reference)
    optimizer = torch.optim.AdamW(nets.trainable, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    ema = EMAModel(nets.trainable, decay=cfg.ema_decay) if cfg.ema_decay > 0 else None
    policy = LaggedPolicy(nets.trainable, cfg.policy_refresh) if objective.needs_negatives else None
    model, optimizer = accelerator.prepare(nets.train_module, optimizer)
    train_sched = backbone.training_scheduler()
    v_pred = backbone.prediction_type == "v_prediction"
    net_fns = Nets(
        model=nets.predictor(model),
        ref=nets.ref_predict if objective.needs_reference else None,
        noisy=train_sched.add_noise,
        target=(lambda x0, eps, t: train_sched.get_velocity(x0, eps, t)) if v_pred else (lambda x0, eps, t: eps),
    )
    merged = MergedSampler(nets.unet) if policy is not None and not cfg.full and cfg.merged_rollouts else None
    source = PairSource(backbone=backbone, experts=experts, cfg=cfg, world=world, rank=rank, policy=policy,
                        policy_predict=nets.predictor(nets.unet), merged=merged)

    updates, elapsed, pairs_seen = 0, 0.0, 0
    found = read_checkpoint(out) if cfg.resume else None
    if found is not None:
        path, state, per_process = found
        if len(per_process) != world:
            raise InputError(f"{path} was written by {len(per_process)} processes; resume it with as many.")
        nets.load_trainable_state(state["trainable"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        if policy is not None:
            policy.load_state_dict(state["policy"])
            source.buffer.load_state_dict(per_process[rank]["buffer"])
        torch.set_rng_state(per_process[rank]["rng"])
        updates, elapsed, pairs_seen = state["updates"], state["elapsed"], state["pairs_seen"]
        source.sampler_forwards = per_process[rank]["sampler_forwards"]
    if main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
        print(_plan(cfg, len(records), world) + (f"\nresuming from update {updates}" if found else ""))
    log = MetricsLog(out, cfg.tensorboard, updates if found else None) if main else None

    def save_checkpoint() -> None:
        per_process = gather_object([{"buffer": None if source.buffer is None else source.buffer.state_dict(),
                                      "rng": torch.get_rng_state(), "sampler_forwards": source.sampler_forwards}])
        if main:
            state = {"updates": updates, "elapsed": elapsed, "pairs_seen": pairs_seen,
                     "trainable": nets.trainable_state(), "optimizer": optimizer.state_dict(),
                     "ema": None if ema is None else ema.state_dict(),
                     "policy": None if policy is None else policy.state_dict()}
            adapter = None if cfg.full else (lambda tmp: save_lora(nets.unet, tmp / "adapter"))
            write_checkpoint(out, updates, state, per_process, cfg.keep_checkpoints, adapter)
        accelerator.wait_for_everyone()

    # --- train -------------------------------------------------------------------
    bar = tqdm(total=cfg.max_steps, initial=updates, disable=not (main and cfg.progress), unit="update", dynamic_ncols=True)
    started, last_saved = time.monotonic() - elapsed, updates
    max_norm = cfg.max_grad_norm if cfg.max_grad_norm > 0 else math.inf
    while cfg.max_steps is None or updates < cfg.max_steps:
        # The main process's clock decides the stop and the LR of every process alike.
        over, progress = broadcast(torch.tensor(
            [float(cfg.max_minutes is not None and elapsed >= cfg.max_minutes * 60),
             budget_progress(updates, elapsed, cfg.max_steps, cfg.max_minutes)], device=accelerator.device),
            from_process=0).tolist()
        if over:
            break
        lr = cfg.learning_rate * lr_factor(cfg.lr_scheduler, updates, cfg.warmup_updates, progress)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tick, totals, counts = time.monotonic(), defaultdict(float), defaultdict(float)

        def add(name: str, values: torch.Tensor) -> None:  # NaN marks a value not known for that pair
            values = values.detach().float().flatten()
            known = ~torch.isnan(values)
            totals[name] += values[known].sum().item()
            counts[name] += known.sum().item()

        for micro in range(cfg.grad_accumulation):
            batch = source.batch(updates, micro)
            last = micro == cfg.grad_accumulation - 1
            with contextlib.nullcontext() if last else accelerator.no_sync(model):
                with accelerator.autocast():
                    result = objective(net_fns, batch)
                loss = (result.loss * min_snr_weights(train_sched, batch.t, cfg.snr_gamma, v_pred)).mean()
                accelerator.backward(loss / cfg.grad_accumulation)
            add("loss", loss)
            for k, v in result.metrics.items():
                add(k, v)
        grad_norm = accelerator.clip_grad_norm_(nets.trainable, max_norm)
        if policy is not None:
            policy.before_update(updates)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        updates += 1
        if ema is not None:
            ema.step(nets.trainable)
        if policy is not None:
            policy.after_update(updates)
        pairs = cfg.batch_size * cfg.grad_accumulation * world
        pairs_seen += pairs
        elapsed = time.monotonic() - started
        # Means over every pair of the update (micro-steps x processes); the keys are the same everywhere.
        summed = accelerator.reduce(torch.tensor([*totals.values(), *counts.values()], device=accelerator.device),
                                    "sum").tolist()
        if main:
            n = len(totals)
            metrics = {k: s / c for k, s, c in zip(totals, summed[:n], summed[n:]) if c > 0}
            rate = pairs / max(time.monotonic() - tick, 1e-9)
            metrics.update(lr=lr, grad_norm=float(grad_norm), pairs_per_s=rate, elapsed_s=elapsed,
                           sampler_forwards=source.sampler_forwards * world)
            if updates % cfg.log_every == 0:
                log.write(updates, metrics)
            bar.update(1)
            bar.set_postfix(loss=f"{metrics['loss']:.4g}", lr=f"{lr:.2g}", pairs_s=f"{rate:.1f}")
        if updates % cfg.checkpoint_every == 0:
            save_checkpoint()
            last_saved = updates
    bar.close()

    # --- save --------------------------------------------------------------------
    if last_saved != updates or not list_checkpoints(out):
        save_checkpoint()
    final = out / "final"
    if main:
        if ema is not None:
            ema.store(nets.trainable)
            ema.copy_to(nets.trainable)
        with atomic_dir(final) as tmp:
            nets.save_final(tmp)
            summary = {"updates": updates, "elapsed_s": elapsed, "pairs_seen": pairs_seen, "ema": ema is not None,
                       "sampler_forwards": source.sampler_forwards * world, "config": asdict(cfg)}
            (tmp / "training_summary.json").write_text(json.dumps(summary, indent=2))
        if ema is not None:
            ema.restore(nets.trainable)
        log.close()
        print(f"final weights in {final} ({updates} updates, {elapsed / 60:.1f} min)")
    accelerator.wait_for_everyone()
    return final
