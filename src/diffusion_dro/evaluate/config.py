"""``EvalConfig``: what ``dro eval`` compares, on which prompts and seeds, with which scorers.

Every field is one ``dro eval`` flag. Validation runs in ``__post_init__``, before
any weights load: model specs and their folders, scorer names, numbers.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from diffusion_dro.errors import InputError
from diffusion_dro.sample.generate import SampleSettings

Protocol = Literal["both", "per-seed", "median"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ModelSpec:
    """One contestant: a display ``name``, a model reference and an optional LoRA adapter folder."""

    name: str
    model: str
    adapter: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model}" + (f" + {self.adapter}" if self.adapter else "")


def parse_model_spec(text: str) -> ModelSpec:
    """``NAME=MODEL[,ADAPTER]`` -> ModelSpec, e.g. ``base=toy``, ``dro=toy,runs/x/final``, ``full=runs/y/final``."""
    name, sep, rest = text.partition("=")
    if not (name and sep and rest):
        raise InputError(
            f"--model {text!r} is not NAME=MODEL[,ADAPTER]. Examples: base=toy, dro=toy,runs/x/final "
            "(a LoRA adapter folder), full=runs/y/final (a fully fine-tuned model folder)."
        )
    if not NAME_RE.match(name):
        raise InputError(f"--model {text!r}: name {name!r} must be letters, digits, '_', '-' or '.', "
                         "starting with a letter or digit (it names a folder).")
    model, _, adapter = rest.partition(",")
    if not model:
        raise InputError(f"--model {text!r} names no model; give 'toy', a model folder or a hub id after '='.")
    return ModelSpec(name, model, adapter or None)


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _check_model_exists(spec: ModelSpec) -> None:
    from diffusion_dro.errors import ModelLoadError
    from diffusion_dro.models.loading import resolve_ref
    from diffusion_dro.models.lora import WEIGHT_NAME

    try:
        resolve_ref(spec.model)
    except ModelLoadError as e:
        raise ModelLoadError(f"--model {spec.name}={spec.model}: {e}") from e
    if spec.adapter is not None and not (Path(spec.adapter) / WEIGHT_NAME).is_file():
        raise ModelLoadError(
            f"--model {spec.name}: adapter folder {spec.adapter!r} has no {WEIGHT_NAME}. Give a LoRA folder "
            "written by 'dro train' (RUN/final), or NAME=FOLDER alone for a fully fine-tuned model."
        )


@dataclass
class EvalConfig:
    out: str = field(metadata={"help": "Output folder: images/, figures/, results.json and report.html."})
    model: list[str] = field(metadata={
        "help": "Models to compare, each NAME=MODEL[,ADAPTER]: e.g. base=toy dro=toy,runs/x/final full=runs/y/final.",
        "metavar": "NAME=MODEL[,ADAPTER]"})
    prompts: str = field(default="toy:heldout", metadata={
        "help": "Prompt set: toy:heldout, toy:train, .txt, .jsonl, .json (HPDv2), .csv/.parquet (Pick-a-Pic), "
                "or an HPDv2 benchmark folder. Repeated prompts are evaluated once."})
    max_prompts: int | None = field(default=None, metadata={"help": "Use only the first N prompts of the set."})
    seeds: int = field(default=5, metadata={"help": "Images per prompt; the same seeds for every model."})
    first_seed: int = field(default=0, metadata={"help": "Seed of each prompt's first image; image k uses first_seed+k."})
    scorers: str = field(default="toy-taste,toy-adherence", metadata={
        "help": "Comma-separated scorer names (see docs/scorers.md)."})
    exclude_scorer: str = field(default="", metadata={
        "help": "Comma-separated scorers left out of the comparison, e.g. the one that curated the experts."})
    selection_scorer: str | None = field(default=None, metadata={
        "help": "Scorer that picks each prompt's median image (median protocol) and orders the report's "
                "examples (default: the first compared scorer)."})
    scorer_source: list[str] = field(default_factory=list, metadata={
        "help": "Weights for scorers as NAME=SOURCE (a folder, file or hub id), e.g. pickscore=/models/pickscore.",
        "metavar": "NAME=SOURCE"})
    taste: str | None = field(default=None, metadata={
        "help": "Simulated taste scored by toy-taste: JSON or a JSON file (default: the toy default taste)."})
    protocol: Protocol = field(default="both", metadata={
        "help": "per-seed: every (prompt, seed) pair; median: per prompt the image with the median "
                "selection score (the paper's protocol); both."})
    bootstrap: int = field(default=2000, metadata={"help": "Bootstrap resamples of the prompts for each interval."})
    confidence: float = field(default=0.95, metadata={"help": "Confidence level of the intervals."})
    seed: int = field(default=0, metadata={"help": "Seed of the bootstrap resampling."})
    tie_margin: float = field(default=0.0, metadata={"help": "Score differences up to this count as ties (half a win)."})
    steps: int = field(default=20, metadata={"help": "Sampler steps."})
    guidance_scale: float = field(default=3.0, metadata={"help": "Classifier-free guidance scale (1 = off)."})
    scheduler: str = field(default="dpmsolver++", metadata={"help": "Sampler name (see models.SCHEDULERS)."})
    negative_prompt: str = field(default="", metadata={"help": "Prompt guided away from (replaces the empty prompt)."})
    resolution: int | None = field(default=None, metadata={
        "help": "Image size for every model (default: each model's native size; all must agree)."})
    batch_size: int = field(default=32, metadata={"help": "Images per generation batch."})
    device: str = field(default="auto", metadata={"help": "'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ..."})
    dtype: Literal["fp32", "fp16", "bf16"] = field(default="fp32", metadata={"help": "Weights' dtype."})
    examples: int = field(default=6, metadata={"help": "Biggest wins and losses shown as image rows per pair."})
    title: str = field(default="Evaluation", metadata={"help": "Title of report.html."})
    progress: bool = field(default=True, metadata={"help": "Show progress bars (generation, loading, scoring)."})

    def __post_init__(self) -> None:
        if not self.model:
            raise InputError("give at least one --model NAME=MODEL[,ADAPTER]; two or more to get win rates.")
        specs = self.models
        names = [s.name for s in specs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InputError(f"--model names must be unique; {repeated} appear more than once in {self.model}.")
        for name in ("seeds", "batch_size", "bootstrap"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(self, name)}.")
        if self.max_prompts is not None and self.max_prompts <= 0:
            raise InputError(f"--max-prompts must be a positive integer, got {self.max_prompts}.")
        if self.examples < 0:
            raise InputError(f"--examples must be >= 0, got {self.examples}.")
        if not 0 < self.confidence < 1:
            raise InputError(f"--confidence must lie strictly between 0 and 1, got {self.confidence}.")
        if self.tie_margin < 0:
            raise InputError(f"--tie-margin must be >= 0, got {self.tie_margin}.")
        if self.resolution is not None and self.resolution <= 0:
            raise InputError(f"--resolution must be a positive number of pixels, got {self.resolution}.")
        self._check_scorers()
        self.settings()  # steps, guidance and scheduler name
        for spec in specs:
            _check_model_exists(spec)

    def _check_scorers(self) -> None:
        from diffusion_dro.score import check_scorer_name

        listed = _names(self.scorers)
        if not listed:
            raise InputError("--scorers is empty; give comma-separated names such as toy-taste,toy-adherence.")
        for name in [*listed, *_names(self.exclude_scorer), *([self.selection_scorer] if self.selection_scorer else [])]:
            check_scorer_name(name)
        stray = [n for n in _names(self.exclude_scorer) if n not in listed]
        if stray:
            raise InputError(f"--exclude-scorer {stray} not among --scorers {listed}; nothing to exclude.")
        if not self.scorer_names:
            raise InputError(f"--exclude-scorer removes every scorer in --scorers {listed}; keep at least one.")
        for item in self.scorer_source:
            name, sep, source = item.partition("=")
            if not sep or not source:
                raise InputError(f"--scorer-source {item!r} is not NAME=SOURCE, e.g. pickscore=/models/pickscore.")
            check_scorer_name(name)
        if self.taste is not None and "toy-taste" not in self.scorer_names + [self.selection_name]:
            raise InputError("--taste only changes the toy-taste scorer, which is not among --scorers.")
        if self.taste is not None:
            from diffusion_dro.toy.taste import parse_taste

            parse_taste(self.taste)

    # --- resolved views ------------------------------------------------------------
    @property
    def models(self) -> list[ModelSpec]:
        return [parse_model_spec(m) for m in self.model]

    @property
    def scorer_names(self) -> list[str]:
        """The scorers compared on: ``--scorers`` minus ``--exclude-scorer``, in order."""
        excluded = set(_names(self.exclude_scorer))
        return [n for n in dict.fromkeys(_names(self.scorers)) if n not in excluded]

    @property
    def excluded_scorers(self) -> list[str]:
        return _names(self.exclude_scorer)

    @property
    def selection_name(self) -> str:
        return self.selection_scorer or self.scorer_names[0]

    @property
    def sources(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.scorer_source)

    @property
    def protocols(self) -> list[str]:
        return ["per-seed", "median"] if self.protocol == "both" else [self.protocol]

    def settings(self) -> SampleSettings:
        return SampleSettings(self.steps, self.guidance_scale, self.scheduler, self.negative_prompt)

    def to_dict(self) -> dict:
        return asdict(self)
