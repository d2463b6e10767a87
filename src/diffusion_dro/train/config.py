"""``dro train`` options: one dataclass, mapped 1:1 onto flags; presets are named defaults.

Precedence: defaults < ``--preset`` < ``--config FILE`` < flags. The resolved
config is saved as ``RUN/config.json``; a resumed run must match it on every
field that changes the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar, Literal

from diffusion_dro.errors import InputError
from diffusion_dro.models.lora import LORA_TARGETS
from diffusion_dro.objectives import OBJECTIVES

# The reference implementation's settings (basiclab/DiffusionDRO train.py), per process.
REFERENCE_PRESET: dict[str, object] = {
    "new_trajectories": 4, "buffer_size": 4, "timesteps_per_trajectory": 1, "policy_refresh": 1,
    "learning_rate": 1e-4, "lr_scheduler": "constant", "warmup_updates": 0, "grad_accumulation": 16,
    "batch_size": 4, "ema_decay": 0.9999, "rollout_steps": 20, "rollout_scheduler": "dpmsolver++",
    "margin": 1e-3, "prompt_dropout": 0.2, "max_grad_norm": 1.0, "snr_gamma": None,
}
# LoRA learning rates measured on the toy (docs/training.md); full fine-tuning defaults to 1e-4.
DEFAULT_LR: dict[str, float] = {"dro": 2e-3, "sft": 1e-3}
PRESETS: dict[str, dict[str, object]] = {"none": {}, "reference": REFERENCE_PRESET}

# Fields that may differ between a run and its resume (budgets and bookkeeping).
RESUMABLE_CHANGES = {"max_steps", "max_minutes", "resume", "dry_run", "checkpoint_every", "keep_checkpoints",
                     "log_every", "tensorboard", "progress"}


def _f(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    positional: ClassVar[tuple[str, ...]] = ()
    presets: ClassVar[dict[str, dict[str, object]]] = PRESETS

    out: str = field(metadata={"help": "Run folder: config.json, metrics.jsonl, checkpoint-N/, final/."})
    experts: str = field(metadata={"help": "Expert set folder (images + metadata.jsonl, or <item>/caption.txt + image)."})
    objective: Literal["dro", "sft"] = _f("dro", f"Training objective, one of {sorted(OBJECTIVES)}.")
    model: str = _f("toy", "Model to fine-tune: 'toy', a diffusers folder or a hub id (SD1.5/SDXL).")
    preset: Literal["none", "reference"] = _f("none", "Named defaults; 'reference' = the reference code's settings.")
    # --- what is trained
    lora_rank: int = _f(8, "LoRA rank (ignored with --full).")
    lora_alpha: float | None = _f(None, "LoRA alpha (default: the rank, i.e. scale 1).")
    lora_targets: str = _f("all", f"Layers that get LoRA, one of {sorted(LORA_TARGETS)}.")
    full: bool = _f(False, "Fine-tune every UNet weight (a separate frozen reference is kept).")
    fused_lora: Literal["auto", "on", "off"] = _f(
        "auto", "LoRA: train through merged weights (each wrapped layer runs once, as W + B @ A) instead of peft's "
        "W x + B(A x): the same gradients up to rounding, faster where the adapter is a large share of the work "
        "(convolutions at a high rank), one merged copy of the wrapped weights more in memory. 'auto': on for CPU "
        "runs, off on GPUs.")
    init_adapter: str | None = _f(
        None, "Start the LoRA from this adapter folder (a run's final/) instead of zero: the next round of a "
        "feedback loop. Its rank, alpha and targets must match; the reference stays --model.")
    # --- optimisation
    learning_rate: float | None = _f(
        None, "Peak AdamW learning rate (default: measured per objective on the toy: DRO 2e-3, SFT 1e-3 with LoRA; "
        "1e-4 with --full).")
    lr_scheduler: Literal["constant", "cosine", "linear"] = _f(
        "constant", "LR schedule after warm-up: constant, or a linear / cosine decay to zero as the budget "
        "(--max-steps and/or --max-minutes, whichever runs out first) is spent.")
    warmup_updates: int = _f(0, "Linear LR warm-up, in optimizer updates.")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    max_grad_norm: float = _f(1.0, "Clip the global gradient norm to this (0 disables).")
    batch_size: int = _f(8, "Training pairs per micro-step per process.")
    grad_accumulation: int = _f(1, "Micro-steps per optimizer update.")
    ema_decay: float = _f(0.995, "EMA decay of the trained weights (0: no EMA); final/ holds the EMA when on.")
    mixed_precision: Literal["no", "fp16", "bf16"] = _f("no", "Autocast precision; master weights stay fp32.")
    snr_gamma: float | None = _f(5.0, "Min-SNR-gamma loss weighting over timesteps (measured on the toy: 5); "
                                 "0 turns it off (every timestep weighs 1).")
    # --- DRO negatives
    margin: float = _f(1e-3, "DRO hinge margin.")
    negatives: Literal["trajectory", "final"] = _f(
        "trajectory", "DRO negatives: 'trajectory' = the paper's (a sampler step's input state and the policy's "
        "output there); 'final' = the policy's final sample, noised at a random t like the expert.")
    prompt_dropout: float = _f(0.2, "Probability of replacing a pair's prompt by the empty prompt.")
    new_trajectories: int = _f(2, "Policy trajectories sampled per micro-step per process.")
    timesteps_per_trajectory: int = _f(4, "Pairs each new trajectory puts in the buffer (its steps, or noised copies of its final sample).")
    buffer_size: int = _f(8, "Replay buffer capacity, in pairs, per process (= new pairs per micro-step: all fresh).")
    policy_refresh: int = _f(1, "Refresh the lagged policy every N optimizer updates.")
    rollout_steps: int = _f(5, "Sampler steps of a policy trajectory.")
    merged_rollouts: bool = _f(
        True, "LoRA: sample trajectories with a plain UNet copy holding base + adapter (faster; one more UNet in memory).")
    lazy_negatives: bool = _f(
        True, "When every pair is fresh (--buffer-size = --new-trajectories x --timesteps-per-trajectory, "
        "--policy-refresh 1, --negatives trajectory), sample a pair's negative and run the reference on it only "
        "if the expert half leaves its hinge undecided: the same gradient for less sampling. No effect otherwise.")
    rollout_scheduler: str = _f("dpmsolver++", "Sampler of the trajectories (dpmsolver++, euler or ddpm).")
    perturb_timesteps: bool = _f(True, "Random per-sample offset of the trajectory's timestep grid.")
    # --- data
    resolution: int | None = _f(None, "Training resolution in pixels (default: the model's native size).")
    random_flip: bool = _f(True, "Randomly flip experts horizontally.")
    # --- budget, logging, checkpoints
    max_steps: int | None = _f(None, "Stop after this many optimizer updates.")
    max_minutes: float | None = _f(None, "Stop (with a checkpoint) after this much wall time.")
    checkpoint_every: int = _f(50, "Write checkpoint-N/ every N updates (and at the end).")
    keep_checkpoints: int = _f(2, "Keep only the newest N checkpoints.")
    log_every: int = _f(1, "Log metrics every N updates.")
    tensorboard: bool = _f(False, "Also write TensorBoard events under RUN/tensorboard (needs tensorboard).")
    progress: bool = _f(True, "Show a progress bar.")
    resume: bool = _f(False, "Continue from the newest checkpoint in --out.")
    dry_run: bool = _f(False, "Validate the options and data, print the plan, and stop.")
    seed: int = _f(0, "Seed of every random draw (data order, noise, dropout, timesteps).")
    device: str = _f("auto", "Device when not launched by accelerate: auto, cpu, cuda.")

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InputError(f"--objective {self.objective!r} is unknown; choose one of {sorted(OBJECTIVES)}.")
        if self.preset not in PRESETS:
            raise InputError(f"--preset {self.preset!r} is unknown; choose one of {sorted(PRESETS)}.")
        if self.lora_targets not in LORA_TARGETS:
            raise InputError(f"--lora-targets {self.lora_targets!r} is unknown; choose one of {sorted(LORA_TARGETS)}.")
        positive = ("lora_rank", "batch_size", "grad_accumulation", "new_trajectories", "timesteps_per_trajectory",
                    "buffer_size", "policy_refresh", "rollout_steps", "checkpoint_every", "log_every")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(self, name)}.")
        if self.fused_lora not in ("auto", "on", "off"):
            raise InputError(f"--fused-lora must be auto, on or off, got {self.fused_lora!r}.")
        if self.full and self.fused_lora == "on":
            raise InputError("--fused-lora on fuses LoRA adapters; --full trains no adapter. Drop one of them.")
        if self.init_adapter is not None and self.full:
            raise InputError("--init-adapter starts a LoRA run from an adapter; it cannot be combined with --full.")
        if self.learning_rate is None:
            self.learning_rate = 1e-4 if self.full else DEFAULT_LR[self.objective]
        if self.learning_rate <= 0:
            raise InputError(f"--learning-rate must be positive, got {self.learning_rate}.")
        if self.snr_gamma is not None and self.snr_gamma < 0:
            raise InputError(f"--snr-gamma must be >= 0 (5 is usual; 0 turns it off), got {self.snr_gamma}.")
        if self.snr_gamma == 0:
            self.snr_gamma = None  # documented spelling of "off" on the command line
        if not 0 <= self.prompt_dropout < 1:
            raise InputError(f"--prompt-dropout must be in [0, 1), got {self.prompt_dropout}.")
        if not 0 <= self.ema_decay < 1:
            raise InputError(f"--ema-decay must be in [0, 1), got {self.ema_decay}.")
        if self.negatives not in ("trajectory", "final"):
            raise InputError(f"--negatives {self.negatives!r} is unknown; choose 'trajectory' or 'final'.")
        if self.negatives == "trajectory" and self.timesteps_per_trajectory > self.rollout_steps:
            raise InputError(f"--timesteps-per-trajectory ({self.timesteps_per_trajectory}) cannot exceed "
                             f"--rollout-steps ({self.rollout_steps}).")
        if self.max_steps is None and self.max_minutes is None:
            raise InputError("give a budget: --max-steps N (optimizer updates) and/or --max-minutes M.")
        if self.max_steps is not None and self.max_steps <= 0:
            raise InputError(f"--max-steps must be positive, got {self.max_steps}.")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise InputError(f"--max-minutes must be positive, got {self.max_minutes}.")

    @property
    def negatives_on_demand(self) -> bool:
        """``--lazy-negatives`` applies: every pair is fresh, sampled by the model during its own update."""
        return (self.lazy_negatives and self.objective == "dro" and self.negatives == "trajectory"
                and self.policy_refresh == 1
                and self.buffer_size == self.new_trajectories * self.timesteps_per_trajectory)

    @classmethod
    def with_preset(cls, preset: str, **overrides) -> TrainConfig:
        """The Python-API equivalent of ``--preset``: preset values, then ``overrides``."""
        if preset not in PRESETS:
            raise InputError(f"--preset {preset!r} is unknown; choose one of {sorted(PRESETS)}.")
        return cls(**{**PRESETS[preset], "preset": preset, **overrides})

    def result_fields(self) -> dict:
        """The options a resumed run must share with the run it continues."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in RESUMABLE_CHANGES}
