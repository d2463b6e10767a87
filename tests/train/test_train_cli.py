"""``dro train`` and ``dro toy experts`` from the command line: presets, config files, clear errors."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from diffusion_dro.cli.main import main, parse
from diffusion_dro.data.expert_read import read_expert_set
from diffusion_dro.errors import InputError


def test_preset_then_config_file_then_flags(tmp_path, toy_expert_dir):
    _, cfg, _ = parse(["train", "--out", "r", "--experts", toy_expert_dir, "--max-steps", "1", "--preset", "reference"])
    assert (cfg.grad_accumulation, cfg.buffer_size, cfg.new_trajectories, cfg.learning_rate) == (16, 4, 4, 1e-4)
    conf = tmp_path / "c.yaml"
    conf.write_text("preset: reference\nlearning_rate: 3.0e-4\nbuffer_size: 8\n")
    _, cfg, _ = parse(["train", "--out", "r", "--experts", toy_expert_dir, "--max-steps", "1", "--config", str(conf),
                       "--buffer-size", "12"])
    assert (cfg.preset, cfg.learning_rate, cfg.buffer_size, cfg.grad_accumulation) == ("reference", 3e-4, 12, 16)
    assert cfg.snr_gamma is None  # the reference weighs every timestep alike


def test_snr_gamma_defaults_to_5_and_0_turns_it_off(toy_expert_dir):
    common = ["train", "--out", "r", "--experts", toy_expert_dir, "--max-steps", "1"]
    assert parse(common)[1].snr_gamma == 5.0
    assert parse([*common, "--snr-gamma", "0"])[1].snr_gamma is None
    with pytest.raises(InputError, match="--snr-gamma must be >= 0"):
        parse([*common, "--snr-gamma", "-1"])


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, toy_expert_dir, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--experts", toy_expert_dir, "--max-minutes", "1", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "sampler forwards per pair" in text and "16 experts" in text
    assert not out.exists()


@pytest.mark.parametrize("args,match", [
    (["--max-steps", "0"], "--max-steps must be positive"),
    ([], "give a budget"),
    (["--max-steps", "1", "--objective", "kto"], "invalid choice"),
    (["--max-steps", "1", "--preset", "paper"], "--preset 'paper' is unknown"),
    (["--max-steps", "1", "--timesteps-per-trajectory", "30"], "cannot exceed --rollout-steps"),
    (["--max-steps", "1", "--rollout-scheduler", "unipc"], "cannot take per-sample timestep grids"),
    (["--max-steps", "1", "--model", "./nope"], "no such folder"),
])
def test_bad_options_fail_early_with_the_flag_named(tmp_path, toy_expert_dir, capsys, args, match):
    code = None
    try:
        code = main(["train", "--out", str(tmp_path / "r"), "--experts", toy_expert_dir, "--rollout-steps", "4", *args])
    except SystemExit as e:  # argparse's own choice errors
        code = e.code
    assert code == 2
    assert match in capsys.readouterr().err


def test_resume_with_changed_options_is_refused(tmp_path, toy_expert_dir, capsys):
    out = str(tmp_path / "run")
    base = ["train", "--out", out, "--experts", toy_expert_dir, "--max-steps", "1", "--rollout-steps", "2",
            "--batch-size", "2", "--new-trajectories", "1", "--timesteps-per-trajectory", "2", "--buffer-size", "2",
            "--no-progress", "--device", "cpu"]
    assert main(base) == 0
    assert main([*base, "--resume", "--learning-rate", "0.1"]) == 2
    assert "--learning-rate 0.002 -> 0.1" in capsys.readouterr().err  # the DRO default, resolved and saved
    assert main([*base[:6], "2", *base[7:], "--resume"]) == 0  # a larger step budget is fine
    assert json.loads((tmp_path / "run" / "final" / "training_summary.json").read_text())["updates"] == 2


def _copy(src: str, dst) -> str:
    shutil.copytree(src, dst)
    return str(dst)


def test_expert_set_validation(tmp_path, toy_expert_dir):
    missing = _copy(toy_expert_dir, tmp_path / "missing")
    lines = (tmp_path / "missing" / "metadata.jsonl").read_text().splitlines()
    (tmp_path / "missing" / "metadata.jsonl").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(InputError, match="no caption in metadata.jsonl"):
        read_expert_set(missing)

    truncated = _copy(toy_expert_dir, tmp_path / "truncated")
    img = next((tmp_path / "truncated").glob("*.png"))
    img.write_bytes(img.read_bytes()[:60])
    with pytest.raises(InputError, match=f"{img.name}.*cannot be read"):
        read_expert_set(truncated)

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no expert images"):
        read_expert_set(tmp_path / "empty")
    with pytest.raises(InputError, match="not a folder"):
        read_expert_set(tmp_path / "nope")


def test_reference_layout_is_read(tmp_path):
    for i, caption in enumerate(["a small red circle", "a large blue square"]):
        item = tmp_path / "ref" / f"{i:04d}"
        item.mkdir(parents=True)
        Image.new("RGB", (32, 32), (i * 100, 0, 0)).save(item / "image.jpg")
        (item / "caption.txt").write_text(caption + "\n")
    records = read_expert_set(tmp_path / "ref")
    assert [r.prompt for r in records] == ["a small red circle", "a large blue square"]
    (tmp_path / "ref" / "0001" / "caption.txt").unlink()
    with pytest.raises(InputError, match="'0001' has no caption.txt"):
        read_expert_set(tmp_path / "ref")


def test_toy_experts_excludes_heldout_and_keeps_the_top(tmp_path):
    from diffusion_dro.toy.world import HELDOUT_PAIRS, parse_prompt

    out = tmp_path / "x"
    assert main(["toy", "experts", "--out", str(out), "--pool", "200", "--top-fraction", "0.1",
                 "--taste", '{"fill": {"outline": 1}}']) == 0
    rows = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and all(r["score"] == 2.0 for r in rows)  # outline (+1) and adherence (+1)
    assert all((parse_prompt(r["prompt"]).colour, parse_prompt(r["prompt"]).shape) not in HELDOUT_PAIRS for r in rows)
    assert main(["toy", "experts", "--out", str(out)]) == 2  # exists: refuses without --overwrite
