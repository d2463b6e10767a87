"""The ``dro`` command: thin subcommands, each mapping 1:1 onto a config dataclass.

Precedence is defaults < ``--config FILE`` (YAML or JSON) < flags. Every subcommand
is registered in ``COMMANDS`` as ``name -> (config class, run function)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml
from transformers import HfArgumentParser

from diffusion_dro.errors import DroError, InputError


def _toy_pretrain():
    from diffusion_dro.toy.pretrain import PretrainConfig, pretrain

    return PretrainConfig, pretrain


def _toy_train_judge():
    from diffusion_dro.toy.judge_train import JudgeTrainConfig, train_judge

    return JudgeTrainConfig, train_judge


def _sample():
    from diffusion_dro.sample.command import SampleConfig, run_sample

    return SampleConfig, run_sample


def _eval():
    from diffusion_dro.evaluate import EvalConfig, run_eval

    return EvalConfig, run_eval


def _feedback(name: str):
    def load():
        from diffusion_dro.feedback import commands

        return {
            "create-app": (commands.CreateAppConfig, commands.create_app_command),
            "stats": (commands.StatsConfig, commands.stats_command),
            "serve": (commands.ServeConfig, commands.serve_command),
        }[name]

    return load


def _train():
    from diffusion_dro.train.loop import train
    from diffusion_dro.train.config import TrainConfig

    return TrainConfig, train


def _toy_experts():
    from diffusion_dro.toy.experts import ToyExpertsConfig, toy_experts

    return ToyExpertsConfig, toy_experts


def _serve():
    from diffusion_dro.serve.command import serve_command
    from diffusion_dro.serve.config import ServeAppConfig

    return ServeAppConfig, serve_command


def _demo():
    from diffusion_dro.demo.config import DemoConfig
    from diffusion_dro.demo.run import run_demo

    return DemoConfig, run_demo


def _curate():
    from diffusion_dro.feedback.curate_command import CurateConfig, run_curate

    return CurateConfig, run_curate


# name -> loader of (config dataclass, run function); loaders keep start-up light.
COMMANDS: dict[str, tuple[str, Callable[[], tuple[type, Callable]]]] = {
    "curate": ("Curate stored feedback (or a folder of favourites) into expert sets, pairs and labels.", _curate),
    "demo": ("Run the whole loop on the toy world: feedback, curation, DRO and SFT, evaluation, report.", _demo),
    "eval": ("Compare models on fixed seeds: win rates with CIs, results.json and report.html.", _eval),
    "feedback create-app": ("Create a feedback app and print its API key once.", _feedback("create-app")),
    "feedback serve": ("Serve the feedback ingest API alone (same as `dro serve --api-only`).", _feedback("serve")),
    "feedback stats": ("Summarise what the feedback store holds.", _feedback("stats")),
    "sample": ("Generate images from prompts with a model (and adapter).", _sample),
    "toy experts": ("Build a toy expert set: the top renders by a simulated taste.", _toy_experts),
    "train": ("Fine-tune a model on an expert set with DRO or SFT (LoRA or full).", _train),
    "serve": ("Serve the web app: generate images, collect implicit feedback (--api-only: the ingest API alone).", _serve),
    "toy pretrain": ("Pre-train the toy base model from scratch, or continue one (--init).", _toy_pretrain),
    "toy train-judge": ("Train the toy judge CNN from scratch.", _toy_train_judge),
}


def _load_config_file(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--config {path}: no such file. Give a YAML or JSON file of option names and values.")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise InputError(f"--config {path} is not valid YAML/JSON: {e}") from e
    if not isinstance(data, dict):
        raise InputError(f"--config {path} must hold a mapping of option names to values, got {type(data).__name__}.")
    return {k.replace("-", "_"): v for k, v in data.items()}


def build_parser(config_cls: type, prog: str, help_text: str, defaults: dict | None = None) -> HfArgumentParser:
    parser = HfArgumentParser(config_cls, prog=prog, description=help_text)
    parser.add_argument("--config", default=None, help="YAML or JSON file of options; flags override it.")
    for action in parser._actions:  # argparse %-formats help texts; the dataclasses' are literal ("93.4%")
        if isinstance(action.help, str):
            action.help = re.sub(r"%(?!\()", "%%", action.help)
    if defaults:
        known = {f.name for f in dataclasses.fields(config_cls)}
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise InputError(f"config file has unknown options {unknown}; known: {sorted(known)}.")
        parser.set_defaults(**defaults)
        # A value from the file satisfies a required flag.
        for action in parser._actions:
            if action.dest in defaults:
                action.required = False
    return parser


def _positionals(config_cls: type, rest: list[str]) -> list[str]:
    """Turn leading bare words into the flags a config names in ``positional`` (``create-app NAME``)."""
    names = list(getattr(config_cls, "positional", ()))
    out: list[str] = []
    while rest and names and not rest[0].startswith("-"):
        out += [f"--{names.pop(0)}", rest.pop(0)]
    return out + rest


def _with_preset(config_cls: type, flag: str | None, defaults: dict | None) -> dict | None:
    """Defaults < preset < config file < flags: a preset (flag or file) fills what the file leaves out."""
    presets = getattr(config_cls, "presets", None)
    name = flag or (defaults or {}).get("preset")
    if not presets or name is None:
        return defaults
    if name not in presets:
        raise InputError(f"--preset {name!r} is unknown; choose one of {sorted(presets)}.")
    return {**presets[name], **(defaults or {}), "preset": name}


def parse(argv: Sequence[str]) -> tuple[str, object, Callable]:
    words = list(argv)
    name = next((n for n in sorted(COMMANDS, key=len, reverse=True) if words[: len(n.split())] == n.split()), None)
    if name is None:
        lines = "\n".join(f"  dro {n:<18} {h}" for n, (h, _) in sorted(COMMANDS.items()))
        if words and words[0] not in ("-h", "--help"):
            raise InputError(f"unknown command {' '.join(words[:2])!r}. Commands:\n{lines}")
        print(f"usage: dro COMMAND [options]\n\ncommands:\n{lines}\n\n'dro COMMAND --help' lists its options.")
        raise SystemExit(0)
    rest = words[len(name.split()) :]
    help_text, loader = COMMANDS[name]
    config_cls, run = loader()
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    pre.add_argument("--preset", default=None)
    known, _ = pre.parse_known_args(rest)
    defaults = _load_config_file(known.config) if known.config else None
    defaults = _with_preset(config_cls, known.preset, defaults)
    rest = _positionals(config_cls, rest)
    parser = build_parser(config_cls, f"dro {name}", help_text, defaults)
    ns = parser.parse_args(rest)
    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(config_cls) if f.init}
    return name, config_cls(**values), run


class _NoTorchvisionNotice(logging.Filter):
    """Drops transformers' notice that an image processor falls back to its PIL version: torchvision is
    left out of the install on purpose (its PyPI wheel does not import with CPU torch), so it is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision (not installed)" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.getLogger("transformers.utils.import_utils").addFilter(_NoTorchvisionNotice())
    try:
        _, config, run = parse(argv)
        run(config)
    except DroError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume where it can", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
