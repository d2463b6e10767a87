"""report.html from a results dict: win-rate tables with CI bars, distributions, diversity, example grids.

The report is rendered from ``results`` alone (what results.json holds), so it can
be rebuilt from a saved run: ``write_report(json.load(open("OUT/results.json")), "OUT")``.
Callers add their own sections (training curves, feedback statistics) as
:class:`ReportSection` objects; they appear after the evaluation's sections.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from diffusion_dro.errors import InputError

FIGURES = "figures"
REPORT = "report.html"


@dataclass(frozen=True)
class ReportSection:
    """A caller's section: a title, a trusted HTML fragment and/or image files (PNG, JPEG, SVG).

    Images are copied into ``OUT/figures/`` so the report folder is self-contained;
    ``captions`` (optional) match ``images`` one to one.
    """

    title: str
    html: str = ""
    images: Sequence[str | Path] = ()
    captions: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InputError("a ReportSection needs a non-empty title.")
        if self.captions and len(self.captions) != len(self.images):
            raise InputError(f"ReportSection {self.title!r}: {len(self.captions)} captions for "
                             f"{len(self.images)} images; give one caption per image or none.")
        for image in self.images:
            if not Path(image).is_file():
                raise InputError(f"ReportSection {self.title!r}: image {str(image)!r} does not exist.")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "section"


def _figures(results: dict, out: Path) -> dict:
    from diffusion_dro.evaluate.plots import nuisance_shares, score_distribution

    folder = out / FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    made: dict = {"distributions": []}
    for scorer in results["scorers"]:
        by_model = {m: np.asarray(v) for m, v in results["scores"][scorer].items()}
        path = score_distribution(scorer, by_model, folder / f"scores-{_slug(scorer)}.png")
        made["distributions"].append({"scorer": scorer, "file": f"{FIGURES}/{path.name}"})
    if results.get("diversity"):
        path = nuisance_shares(results["diversity"], folder / "nuisance-shares.png")
        made["shares"] = f"{FIGURES}/{path.name}"
    return made


def _extra(sections: Sequence[ReportSection], out: Path) -> list[dict]:
    rendered = []
    for n, section in enumerate(sections):
        images = []
        for k, image in enumerate(section.images):
            src = Path(image)
            name = f"extra-{n}-{k}-{src.name}"
            target = out / FIGURES / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.resolve() != target.resolve():
                shutil.copyfile(src, target)
            caption = section.captions[k] if section.captions else ""
            images.append({"file": f"{FIGURES}/{name}", "caption": caption})
        rendered.append({"title": section.title, "id": f"extra-{n}-{_slug(section.title)}",
                         "html": section.html, "images": images})
    return rendered


def number(x: float) -> str:
    """Scores for people: 3 decimals (1 from 100 up); every digit stays in results.json."""
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3f}"


def verdict(entry: dict) -> str:
    """``win`` when the interval lies above 1/2, ``loss`` below, else ``even``."""
    if entry["ci_low"] > 0.5:
        return "win"
    if entry["ci_high"] < 0.5:
        return "loss"
    return "even"


def pairs(models: list[str]) -> list[tuple[str, str]]:
    """Rows of the win tables: each later model against each earlier one (challenger, opponent)."""
    return [(models[j], models[i]) for j in range(1, len(models)) for i in range(j)]


def write_report(results: dict, out_dir: str | Path, extra_sections: Sequence[ReportSection] = ()) -> Path:
    """Render ``OUT/report.html`` (and its figures) from ``results``; returns the report's path."""
    from jinja2 import Environment, select_autoescape
    from markupsafe import Markup

    from diffusion_dro.evaluate.plots import MODEL_COLOURS

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda x, d=1: f"{100 * x:.{d}f}"
    env.filters["num"] = number
    env.filters["when"] = lambda iso: iso.replace("T", " ")[:16]
    template = env.from_string(files("diffusion_dro.evaluate").joinpath("templates/report.html.j2").read_text())
    models = [m["name"] for m in results["models"]]
    extra = _extra(extra_sections, out)
    for section in extra:
        section["html"] = Markup(section["html"])  # trusted: written by the calling code, not by users
    html = template.render(
        r=results,
        models=models,
        colours={m: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, m in enumerate(models)},
        pairs=pairs(models),
        figures=_figures(results, out),
        extra=extra,
        verdict=verdict,
        best_mean=lambda row: max(v["mean"] for v in row.values()),
    )
    path = out / REPORT
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
