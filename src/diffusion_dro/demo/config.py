"""``dro demo`` options: one dataclass mapped 1:1 onto flags; every stage's knobs live here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from diffusion_dro.errors import InputError
from diffusion_dro.sample.precision import cpu_bf16_is_fast
from diffusion_dro.toy.taste import parse_taste


def _f(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class DemoConfig:
    out: str = _f("runs/demo", "Run folder; re-running with the same folder resumes where it stopped.")
    taste: str | None = _f(None, "The simulated users' taste, JSON inline or a file (default: the toy default).")
    target_minutes: float = _f(10.0, "Wall clock of the whole demo: training gets what the other stages leave of "
                               "it, timed on this machine when training starts (the base's evaluation images are "
                               "made first to measure the evaluation ahead). Ignored with --minutes.")
    minutes: float | None = _f(None, "Training wall clock over all rounds (each round an equal share), instead of "
                               "what --target-minutes leaves: DRO and SFT train side by side, each on half of the "
                               "CPU threads.")
    rounds: int = _f(1, "Rounds of the loop: feedback, curation, training. Round 1 shows the base's images; each "
                     "later round shows the previous round's DRO model's, and both methods continue from their "
                     "adapters on the experts curated from them (2 rounds measured no better on the toy: "
                     "BENCHMARKS.md).")
    seed: int = _f(0, "Seed of the simulated users, their images and training.")
    skip_baseline: bool = _f(False, "Train DRO only (for --minutes, on every CPU thread).")
    # --- feedback
    impressions: int = _f(512, "Image sets shown to simulated users per round (each set: --set-size images of "
                          "one prompt).")
    set_size: int = _f(4, "Images per shown set.")
    users: int = _f(6, "Simulated users (same taste, each with their own noise).")
    temperature: float = _f(0.3, "Noise of the users' choices (Gumbel scale, in taste units).")
    app_steps: int = _f(6, "Sampler steps of the images the app shows.")
    app_guidance: float = _f(3.0, "Guidance scale of the images the app shows.")
    app_dtype: Literal["auto", "fp32", "bf16"] = _f(
        "auto", "Weights' dtype of the model the app serves (dro serve --dtype). 'auto': bf16 where the CPU has "
        "AVX-512 (1.5x faster than fp32 on one with AVX-512 BF16), fp32 elsewhere (bf16 is 22x slower on AVX2 "
        "alone). Recorded resolved.")
    # --- curation
    top_fraction: float = _f(0.08, "Share of a round's shown images that become its experts (dro curate "
                             "--top_fraction).")
    kept_only: bool = _f(True, "Experts only from images a user downloaded (dro curate --kept_only): for the "
                         "default taste the same 164 experts as without it, for a user the base rarely pleases "
                         "fewer and purer ones (BENCHMARKS.md).")
    # --- training (both methods; every other TrainConfig field keeps its default)
    lora_rank: int = _f(32, "LoRA rank of both methods (dro train --lora-rank, whose default is 8). Over five "
                        "training seeds DRO won 91.8-93.4% at 32 against 87.5-94.5% at 8, for 6% fewer updates "
                        "(BENCHMARKS.md).")
    snr_gamma: float = _f(5.0, "Min-SNR-gamma loss weighting (dro train --snr-gamma); 0 turns it off.")
    prompt_dropout: float = _f(0.2, "Prompt dropout of training (dro train --prompt-dropout; the paper's 0.2): "
                               "training the empty prompt too carries the taste to held-out prompts under guidance. "
                               "At 620 DRO updates over three seeds it won 94.6% on average against 89.8% at 0, "
                               "with higher adherence (BENCHMARKS.md).")
    # --- evaluation
    eval_seeds: int = _f(8, "Seeds per held-out prompt in the evaluation (16 prompts x seeds pairs).")
    overwrite: bool = _f(False, "Delete --out first and start over.")
    progress: bool = _f(True, "Show progress bars.")

    def __post_init__(self) -> None:
        for name in ("rounds", "impressions", "lora_rank", "set_size", "users", "app_steps", "eval_seeds"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(self, name)}.")
        if self.set_size < 2:
            raise InputError(f"--set-size must be at least 2 (a pick needs alternatives), got {self.set_size}.")
        if self.minutes is not None and self.minutes <= 0:
            raise InputError(f"--minutes must be positive, got {self.minutes}.")
        if self.target_minutes <= 0:
            raise InputError(f"--target-minutes must be positive, got {self.target_minutes}.")
        if not 0 < self.top_fraction <= 1:
            raise InputError(f"--top-fraction must be in (0, 1], got {self.top_fraction}.")
        if self.snr_gamma < 0:
            raise InputError(f"--snr-gamma must be >= 0 (0: off), got {self.snr_gamma}.")
        if not 0 <= self.prompt_dropout < 1:
            raise InputError(f"--prompt-dropout must be in [0, 1), got {self.prompt_dropout}.")
        if self.temperature < 0:
            raise InputError(f"--temperature must be >= 0, got {self.temperature}.")
        if self.app_dtype not in ("auto", "fp32", "bf16"):
            raise InputError(f"--app-dtype must be auto, fp32 or bf16, got {self.app_dtype!r}.")
        if self.app_dtype == "auto":
            self.app_dtype = "bf16" if cpu_bf16_is_fast() else "fp32"
        parse_taste(self.taste)  # a bad taste fails now, not after minutes of work
