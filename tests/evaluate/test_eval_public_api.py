"""The evaluate package's public surface: what the demo and other callers import."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import diffusion_dro.evaluate as evaluate
from diffusion_dro.errors import InputError


def test_all_names_exist_and_are_the_documented_ones():
    assert [n for n in evaluate.__all__ if not hasattr(evaluate, n)] == []
    assert {"EvalConfig", "run_eval", "ReportSection", "write_report", "win_rate", "bootstrap_ci",
            "median_index"} <= set(evaluate.__all__)


def test_signatures_callers_rely_on():
    assert list(inspect.signature(evaluate.run_eval).parameters) == ["config", "extra_sections"]
    assert list(inspect.signature(evaluate.write_report).parameters) == ["results", "out_dir", "extra_sections"]
    assert [f.name for f in dataclasses.fields(evaluate.ReportSection)] == ["title", "html", "images", "captions"]
    fields = {f.name for f in dataclasses.fields(evaluate.EvalConfig)}
    assert {"out", "model", "prompts", "seeds", "scorers", "taste", "exclude_scorer", "protocol", "bootstrap",
            "seed", "steps", "guidance_scale", "scheduler", "batch_size", "device", "dtype", "max_prompts"} <= fields


def test_report_section_checks_its_inputs(tmp_path):
    image = tmp_path / "curve.png"
    image.write_bytes(b"")
    with pytest.raises(InputError, match="non-empty title"):
        evaluate.ReportSection(" ")
    with pytest.raises(InputError, match="missing.png.*does not exist"):
        evaluate.ReportSection("Training", images=[tmp_path / "missing.png"])
    with pytest.raises(InputError, match="2 captions for 1 images"):
        evaluate.ReportSection("Training", images=[image], captions=["a", "b"])
