"""``dro eval`` end to end on the toy: results.json contents, the acceptance checks, resume, extra report sections."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from eval_fixtures import EVAL_PROMPTS, EVAL_SEEDS, EVAL_STEPS, eval_args

from diffusion_dro.cli.main import parse
from diffusion_dro.evaluate import EvalConfig, ReportSection, run_eval, win_rate, write_report

MODELS = ["base", "same", "lora", "full"]
SCORERS = ["toy-taste", "toy-adherence"]


def test_results_hold_every_ordered_pair_and_scorer(eval_run):
    _, r = eval_run
    assert r["schema_version"] == 1 and [m["name"] for m in r["models"]] == MODELS
    assert r["scorers"] == SCORERS and r["selection_scorer"] == "toy-taste"
    assert r["seeds"] == list(range(EVAL_SEEDS)) and r["prompts"]["count"] == EVAL_PROMPTS
    for protocol, pairs in (("per-seed", EVAL_PROMPTS * EVAL_SEEDS), ("median", EVAL_PROMPTS)):
        section = r["protocols"][protocol]
        for scorer in SCORERS:
            assert set(section["means"][scorer]) == set(MODELS)
            for a in MODELS:
                assert set(section["win_rates"][scorer][a]) == set(MODELS) - {a}
                for b in set(MODELS) - {a}:
                    e, back = section["win_rates"][scorer][a][b], section["win_rates"][scorer][b][a]
                    assert e["pairs"] == pairs and e["wins"] + e["ties"] + e["losses"] == pairs
                    assert e["ci_low"] <= e["win_rate"] <= e["ci_high"]
                    # B over A mirrors A over B exactly: same resamples of the prompts.
                    assert np.isclose(e["win_rate"] + back["win_rate"], 1)
                    assert np.isclose(e["ci_low"] + back["ci_high"], 1) and np.isclose(e["ci_high"] + back["ci_low"], 1)
    for scorer in SCORERS:
        for m in MODELS:
            assert np.asarray(r["scores"][scorer][m]).shape == (EVAL_PROMPTS, EVAL_SEEDS)


def test_per_seed_win_rates_match_the_scores(eval_run):
    _, r = eval_run
    for scorer in SCORERS:
        a, b = np.asarray(r["scores"][scorer]["lora"]), np.asarray(r["scores"][scorer]["base"])
        assert r["protocols"]["per-seed"]["win_rates"][scorer]["lora"]["base"]["win_rate"] == win_rate(a, b)


def test_base_against_itself_covers_half(eval_run):
    _, r = eval_run
    for protocol in ("per-seed", "median"):
        for scorer in SCORERS:
            e = r["protocols"][protocol]["win_rates"][scorer]["same"]["base"]
            assert e["ci_low"] <= 0.5 <= e["ci_high"], (protocol, scorer, e)
            assert e["win_rate"] == 0.5 and e["ties"] == e["pairs"]  # same weights, same seeds: identical images


def test_perturbed_models_lose_with_ci_excluding_half(eval_run):
    _, r = eval_run
    for protocol in ("per-seed", "median"):
        for model in ("lora", "full"):
            e = r["protocols"][protocol]["win_rates"]["toy-adherence"][model]["base"]
            assert e["ci_high"] < 0.5, (protocol, model, e)
            assert r["protocols"][protocol]["win_rates"]["toy-adherence"]["base"][model]["ci_low"] > 0.5


def test_median_protocol_takes_each_prompts_median_image(eval_run):
    _, r = eval_run
    median = r["protocols"]["median"]
    for m in MODELS:
        selection = np.asarray(r["scores"]["toy-taste"][m])
        lower_median = np.sort(selection, axis=1)[:, (EVAL_SEEDS - 1) // 2]
        picked = [selection[p, r["seeds"].index(s)] for p, s in enumerate(median["selected_seeds"][m])]
        assert np.allclose(picked, lower_median)
    adherence = {m: np.asarray(r["scores"]["toy-adherence"][m]) for m in ("full", "base")}
    chosen = {m: [r["seeds"].index(s) for s in median["selected_seeds"][m]] for m in ("full", "base")}
    by_hand = win_rate(*(adherence[m][np.arange(EVAL_PROMPTS), chosen[m]] for m in ("full", "base")))
    assert median["win_rates"]["toy-adherence"]["full"]["base"]["win_rate"] == by_hand


def test_images_metadata_diversity_and_report_files(eval_run):
    out, r = eval_run
    for m in MODELS:
        rows = [json.loads(line) for line in (out / "images" / m / "metadata.jsonl").read_text().splitlines()]
        assert len(rows) == EVAL_PROMPTS * EVAL_SEEDS and rows[0]["steps"] == EVAL_STEPS and rows[0]["size"] == 32
    for m, d in r["diversity"].items():
        assert set(d["attributes"]) == {"background", "level", "fill", "offset"}
        for a in d["attributes"].values():
            assert 0 <= a["entropy_bits"] <= a["max_entropy_bits"] + 1e-9 and 1 <= a["distinct"] <= a["max_distinct"]
        assert all(np.isclose(sum(shares.values()), 1) for shares in d["shares"].values())
    assert r["diversity"]["same"] == r["diversity"]["base"]
    html = (out / "report.html").read_text()
    assert "Test evaluation" in html and 'id="winrates-per-seed"' in html and 'id="winrates-median"' in html
    referenced = re.findall(r'src="([^"]+)"', html)
    assert any(s.startswith("images/") for s in referenced) and any(s.startswith("figures/") for s in referenced)
    for src in referenced:
        assert (out / src).is_file(), src
    assert len(r["examples"]) == 3 and all(ex["reference"] == "base" for ex in r["examples"])
    same = r["examples"][0]
    assert same["challenger"] == "same" and same["tied_pairs"] == same["pairs"] and len(same["tied"]) == 3
    lora = r["examples"][1]
    diffs = [x["difference"] for x in lora["losses"]]
    assert diffs == sorted(diffs) and all(d < 0 for d in diffs)  # biggest losses first


def test_resume_reuses_matching_images_and_regenerates_the_rest(eval_run, eval_copy, perturbed):
    _, first = eval_run
    meta = eval_copy / "images" / "lora" / "metadata.jsonl"
    lines = meta.read_text().splitlines()
    meta.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])  # a crash tore the last row
    (eval_copy / "images" / "full" / "p00000_s0.png").unlink()
    _, config, _ = parse(eval_args(eval_copy, perturbed))
    again = run_eval(config)
    assert {m["name"]: m["generated"] for m in again["models"]} == {"base": 0, "same": 0, "lora": 1, "full": 1}
    for protocol in ("per-seed", "median"):
        assert again["protocols"][protocol]["win_rates"] == first["protocols"][protocol]["win_rates"]

    changed = EvalConfig(out=str(eval_copy), model=["base=toy"], max_prompts=1, seeds=2, steps=EVAL_STEPS + 1,
                         scorers="toy-adherence")
    assert run_eval(changed)["models"][0]["generated"] == 2  # other steps: other images


def test_extra_sections_and_rerender_from_results_json(eval_run, eval_copy):
    results = json.loads((eval_copy / "results.json").read_text())
    figure = next((eval_copy / "figures").glob("scores-*.png"))
    section = ReportSection("Training curves", "<p id='fragment'>loss <b>fell</b></p>", images=[figure],
                            captions=["reward per step"])
    html = write_report(results, eval_copy, [section]).read_text()
    assert "Training curves" in html and "<p id='fragment'>loss <b>fell</b></p>" in html
    assert "reward per step" in html
    copied = re.findall(r'src="(figures/extra-[^"]+)"', html)
    assert len(copied) == 1 and (eval_copy / copied[0]).is_file()


def test_single_model_gives_means_without_win_rates(tmp_path):
    r = run_eval(EvalConfig(out=str(tmp_path), model=["base=toy"], max_prompts=2, seeds=1, steps=2,
                            protocol="per-seed", scorers="toy-adherence"))
    assert r["protocols"]["per-seed"]["win_rates"] == {} and r["examples"] == []
    assert set(r["protocols"]["per-seed"]["means"]["toy-adherence"]) == {"base"}
    assert "median" not in r["protocols"] and (Path(tmp_path) / "report.html").is_file()


def test_no_progress_draws_no_bars(tmp_path, capfd):
    run_eval(EvalConfig(out=str(tmp_path), model=["base=toy"], max_prompts=2, seeds=1, steps=2,
                        protocol="per-seed", scorers="toy-adherence", progress=False))
    err = capfd.readouterr().err
    assert "generate base" not in err and "score toy-adherence" not in err and "Loading weights" not in err


def test_prompt_groups_get_their_own_win_rates(tmp_path):
    prompts = tmp_path / "styles.json"  # hpsv2.benchmark_prompts('all') saved with json.dump
    prompts.write_text(json.dumps({"round": ["a small red circle", "a large blue circle"],
                                   "square": ["a small green square", "a small green square"]}))
    r = run_eval(EvalConfig(out=str(tmp_path / "o"), model=["base=toy", "same=toy"], prompts=str(prompts),
                            seeds=1, steps=1, scorers="toy-adherence", protocol="per-seed", bootstrap=100))
    assert r["prompts"]["count"] == 3 and r["prompts"]["duplicates_dropped"] == 1
    groups = r["protocols"]["per-seed"]["by_group"]
    assert set(groups) == {"round", "square"}
    assert groups["round"]["toy-adherence"]["same"]["base"]["pairs"] == 2
    assert "By prompt group (2 groups)" in (tmp_path / "o" / "report.html").read_text()
