"""Evaluation: fixed-seed generation for prompt sets, paired win rates with bootstrap intervals, reports.

``run_eval(EvalConfig(...))`` generates (or reuses) images for every model x prompt x
seed, scores them, compares every ordered pair of models on every scorer under the
per-seed and median protocols, and writes ``results.json`` and ``report.html``.
Statistics are pure functions in :mod:`diffusion_dro.evaluate.stats`; the report can
be re-rendered from results with :func:`write_report`, with extra sections.
"""

from diffusion_dro.evaluate.config import EvalConfig, ModelSpec, parse_model_spec
from diffusion_dro.evaluate.report import ReportSection, write_report
from diffusion_dro.evaluate.run import generate_eval_images, run_eval
from diffusion_dro.evaluate.stats import WinRate, bootstrap_ci, compare, median_index, outcomes, win_rate

__all__ = [
    "EvalConfig",
    "ModelSpec",
    "ReportSection",
    "WinRate",
    "bootstrap_ci",
    "compare",
    "generate_eval_images",
    "median_index",
    "outcomes",
    "parse_model_spec",
    "run_eval",
    "win_rate",
    "write_report",
]
