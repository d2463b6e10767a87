"""A shortened ``dro demo`` end to end: every artefact written and well-formed, re-runs resume, the report renders.

Tiny budget: two rounds of 12 sets of 4 images for 2 simulated users (the base's, then
round 1's DRO model's), a few seconds of DRO and SFT per round, one seed per held-out prompt. The numbers are meaningless at this size; the test
checks the wiring and the files, the benchmark (BENCHMARKS.md) the result.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_dro.cli.main import main
from diffusion_dro.data.expert_read import read_expert_set
from diffusion_dro.demo import DemoConfig
from diffusion_dro.demo.budget import RESERVE_S
from diffusion_dro.errors import InputError
from diffusion_dro.sample.precision import cpu_bf16_is_fast

TINY = ["--rounds", "2", "--impressions", "12", "--users", "2", "--eval_seeds", "1", "--top_fraction", "0.25", "--no_progress"]


def demo_args(out: Path, minutes: float = 0.15) -> list[str]:
    return ["demo", "--out", str(out), "--minutes", str(minutes), *TINY]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(demo_args(out)) == 0
    return out


def test_every_artefact_is_written_and_well_formed(demo_run, capsys):
    out = demo_run
    state = json.loads((out / "demo.json").read_text())
    assert set(state["stage_seconds"]) == {*(f"round {r} {s}" for r in (1, 2) for s in ("feedback", "curate", "train")),
                                           "base images", "evaluate", "report"}
    assert "training_plan" not in state  # --minutes given: nothing planned
    assert state["eval_images_s"] > 0
    assert len(state["table"]) == 4 and state["table"][1].startswith("base")
    assert [x["round"] for x in state["rounds"]] == [1, 2]

    for r in (1, 2):
        folder = out / f"round-{r}"
        sim = json.loads((folder / "feedback" / "simulation.json").read_text())
        assert sim["images"] == 48 and sim["stats"]["generations_with_image"] == 48
        dtype = "bf16" if cpu_bf16_is_fast() else "fp32"  # --app-dtype auto, resolved for this CPU
        assert sim["app_settings"] == {"steps": 6, "guidance_scale": 3.0, "dtype": dtype}
        assert sum(sim["actions"].values()) == 12 and sim["stats"]["events"]["impression"] == 12
        assert (folder / "feedback" / "feedback.db").is_file()
        curated = json.loads((folder / "curated" / "summary.json").read_text())
        experts = read_expert_set(folder / "curated" / "expert")  # validates every image and caption
        assert 0 < len(experts) == curated["expert"] <= 12  # at most 25% of the 48 shown images
        assert curated["config"]["kept_only"] and len(experts) <= curated["kept_images"]  # only downloaded images
        with sqlite3.connect(folder / "feedback" / "feedback.db") as db:
            downloaded = {g for (g,) in db.execute(
                "select g.external_id from events e join generations g on g.id = e.generation_id "
                "where e.type = 'download'")}
        meta = (folder / "curated" / "expert" / "metadata.jsonl").read_text().splitlines()
        sources = [json.loads(x)["source"] for x in meta]
        assert {src.split("/", 1)[1] for src in sources} <= downloaded
        for m in ("dro", "sft"):
            final = folder / "train" / m / "final"
            assert (final / "pytorch_lora_weights.safetensors").is_file()
            assert json.loads((final / "training_summary.json").read_text())["updates"] > 0
            config = json.loads((folder / "train" / m / "config.json").read_text())
            assert (config["objective"], config["lora_rank"], config["snr_gamma"], config["prompt_dropout"]) == (
                m, 32, 5.0, 0.2)  # the demo's defaults
            assert config["init_adapter"] == (None if r == 1 else str(out / "round-1" / "train" / m / "final"))
    # Round 2 showed round 1's DRO model: the feedback store says so for every generation.
    served = json.loads((out / "round-2" / "feedback" / "simulation.json").read_text())["served"]
    assert served == f"toy + {out / 'round-1' / 'train' / 'dro' / 'final'}"

    with sqlite3.connect(out / "round-2" / "feedback" / "feedback.db") as db:
        adapters = {a for (a,) in db.execute("select adapter from generations")}
    assert adapters == {str(out / "round-1" / "train" / "dro" / "final")}

    results = json.loads((out / "eval" / "results.json").read_text())
    assert [m["name"] for m in results["models"]] == ["base", "dro", "sft"]
    # The base's images were made before training (to time the evaluation) and reused by it.
    assert [(m["generated"], m["reused"]) for m in results["models"]] == [(0, 16), (16, 0), (16, 0)]
    win = results["protocols"]["per-seed"]["win_rates"]["toy-taste"]["dro"]["base"]
    assert 0 <= win["ci_low"] <= win["win_rate"] <= win["ci_high"] <= 1
    report = (out / "eval" / "report.html").read_text()
    for title in ("Same prompts, same seeds", "Training", "Feedback and curation", "round 1 DRO"):
        assert title in report
    curves = [p.relative_to(out / "eval").as_posix() for p in (out / "eval" / "figures").glob("*training_curves.png")]
    assert len(curves) == 1
    for src in results["images"]["pattern"].format(model="dro", prompt_index=0, seed=0), curves[0]:
        assert f'src="{src}"' in report and (out / "eval" / src).is_file()
    assert "eval/report.html" in (out / "report.html").read_text()


def test_rerun_resumes_instead_of_restarting(demo_run, capsys):
    out = demo_run
    weights = out / "round-2" / "train" / "dro" / "final" / "pytorch_lora_weights.safetensors"
    before = weights.stat().st_mtime_ns, (out / "round-2" / "feedback" / "simulation.json").read_text()
    assert main(demo_args(out)) == 0
    assert json.loads((out / "eval" / "results.json").read_text())["timing"]["images_generated"] == 0
    assert (weights.stat().st_mtime_ns, (out / "round-2" / "feedback" / "simulation.json").read_text()) == before
    printed = capsys.readouterr().out
    assert "win vs base" in printed and "report:" in printed


def test_rerun_with_other_options_is_refused(demo_run, capsys):
    before = (demo_run / "demo.json").read_text()
    assert main([*demo_args(demo_run), "--taste", '{"fill": {"outline": 1}}']) == 2
    assert "--taste None -> " in capsys.readouterr().err
    assert (demo_run / "demo.json").read_text() == before


def test_bad_inputs_fail_early_with_the_fix(tmp_path):
    with pytest.raises(InputError, match="--taste"):
        DemoConfig(out=str(tmp_path / "x"), taste="{not json")
    with pytest.raises(InputError, match="--rounds"):
        DemoConfig(out=str(tmp_path / "x"), rounds=0)
    with pytest.raises(InputError, match="--minutes"):
        DemoConfig(out=str(tmp_path / "x"), minutes=0)
    with pytest.raises(InputError, match="--target-minutes must be positive"):
        DemoConfig(out=str(tmp_path / "x"), target_minutes=-1)
    with pytest.raises(InputError, match="--lora-rank"):
        DemoConfig(out=str(tmp_path / "x"), lora_rank=0)
    with pytest.raises(InputError, match="--snr-gamma"):
        DemoConfig(out=str(tmp_path / "x"), snr_gamma=-1)
    with pytest.raises(InputError, match="--prompt-dropout"):
        DemoConfig(out=str(tmp_path / "x"), prompt_dropout=1.0)
    with pytest.raises(InputError, match="--app-dtype must be auto, fp32 or bf16"):
        DemoConfig(out=str(tmp_path / "x"), app_dtype="fp16")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    assert main(["demo", "--out", str(tmp_path / "taken"), *TINY]) == 2  # not a demo folder: refused, untouched
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep me"


def test_report_renders_in_chromium(demo_run, page, tmp_path):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((demo_run / "report.html").as_uri())  # follows the pointer to eval/report.html
    page.wait_for_url("**/eval/report.html")
    page.wait_for_load_state("load")
    assert page.locator("#winrates-per-seed").is_visible()
    grid = page.locator("table.grid img.px")
    assert grid.count() == 8 * 1 * 3  # the first 8 held-out prompts x 1 seed x base, dro, sft
    sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.getAttribute('src')])")
    assert sizes and all(done and width > 0 for done, width, _ in sizes), [s for s in sizes if not s[1]]
    assert not errors
    png = page.screenshot(full_page=True)
    (tmp_path / "demo-report.png").write_bytes(png)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)
    assert image.shape[0] > 2000 and image.std() > 20


def _processes_naming(path: Path) -> list[int]:
    """Live processes whose command line mentions ``path`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(path).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_killed_during_training_resumes_from_the_checkpoint(tmp_path):
    """SIGKILL once DRO has written a checkpoint; the re-run continues it (no update redone), keeps the training
    plan (no --minutes: what a 2.5-minute target leaves, about 45 s a round) and finishes."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "diffusion_dro.cli.main", "demo", "--out", str(out), "--target-minutes", "2.5", *TINY]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = out / "round-1" / "train" / "dro"
    deadline = time.monotonic() + 300
    while not list(run.glob("checkpoint-*[0-9]")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the demo ended before DRO wrote a checkpoint"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if sys.platform.startswith("linux"):  # the training processes died with the demo (PR_SET_PDEATHSIG)
        deadline = time.monotonic() + 10
        while _processes_naming(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _processes_naming(out)
    assert not (run / "final").exists()
    kept = max(int(p.name.split("-")[1]) for p in run.glob("checkpoint-*[0-9]"))
    plan = json.loads((out / "demo.json").read_text())["training_plan"]
    assert plan["fits"] and plan["target_minutes"] == 2.5 and plan["eval_images_s"] > 0
    assert plan["later_feedback_s"] > 0  # round 2's feedback and curation, as long as round 1's
    assert plan["minutes"] == pytest.approx(
        2.5 - (plan["spent_s"] + 2 * plan["eval_images_s"] + plan["later_feedback_s"] + RESERVE_S) / 60, abs=5e-3)

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resuming from update {kept}" in done.stdout
    updates = [json.loads(line)["update"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert updates == list(range(1, len(updates) + 1))  # continued, each update logged once
    assert (out / "eval" / "report.html").is_file()
    assert json.loads((out / "demo.json").read_text())["training_plan"] == plan  # planned once, kept on resume
    for r in (1, 2):
        assert json.loads((out / f"round-{r}" / "train" / "dro.json").read_text())["max_minutes"] == plan["minutes"] / 2


def test_tail_reads_only_new_complete_lines_and_restarts_on_a_shrunk_file(tmp_path):
    from diffusion_dro.demo.training_stage import _Tail

    f = tmp_path / "metrics.jsonl"
    f.write_text("old\n")
    tail = _Tail(f)  # starts at the current end
    assert tail.lines() == []
    with f.open("a") as out:
        out.write("a\nb")
    assert tail.lines() == ["a"]  # "b" has no newline yet
    with f.open("a") as out:
        out.write("\n")
    assert tail.lines() == ["b"]
    f.write_text("x\n")  # cut back, as a resume does
    assert tail.lines() == ["x"]
