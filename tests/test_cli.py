"""The ``dro`` entry point: sample end to end, errors, config precedence, flags <-> dataclass fields."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from PIL import Image

from diffusion_dro.cli.main import COMMANDS, main, parse
from diffusion_dro.sample.command import SampleConfig


def test_sample_writes_pngs_grid_and_metadata(tmp_path):
    out = tmp_path / "s"
    rc = main(["sample", "--model", "toy", "--prompt", "a small red circle", "a large blue cross",
               "--num-images", "2", "--steps", "3", "--seed", "7", "--out", str(out)])
    assert rc == 0
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert [(r["prompt"], r["seed"]) for r in rows] == [
        ("a small red circle", 7), ("a small red circle", 8), ("a large blue cross", 7), ("a large blue cross", 8)
    ]
    assert rows[0]["steps"] == 3 and rows[0]["guidance_scale"] == 3.0 and rows[0]["scheduler"] == "dpmsolver++"
    for r in rows:
        assert Image.open(out / r["file_name"]).size == (32, 32)
    assert Image.open(out / "grid.png").width > 2 * 32


def test_sample_prompt_file_and_batch_independence(tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a small red circle\n\na large green square\n")
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["sample", "--prompts", str(prompts), "--num-images", "2", "--steps", "2"]
    assert main([*common, "--batch-size", "4", "--out", str(a)]) == 0
    assert main([*common, "--batch-size", "1", "--out", str(b)]) == 0
    import numpy as np

    for name in ("00000.png", "00003.png"):  # equal up to float rounding of batched kernels
        diff = np.abs(np.asarray(Image.open(a / name), int) - np.asarray(Image.open(b / name), int))
        assert diff.max() <= 2


def test_toy_prompt_with_unknown_words_fails_clearly(tmp_path, capsys):
    rc = main(["sample", "--prompt", "a small red banana", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "banana" in err and "a {size} {colour} {shape}" in err


def test_missing_model_folder_fails_clearly(tmp_path, capsys):
    rc = main(["sample", "--model", str(tmp_path / "nope"), "--prompt", "a small red circle", "--out", str(tmp_path)])
    assert rc == 2 and "no such folder" in capsys.readouterr().err


def test_unknown_scheduler_fails_before_loading(tmp_path, capsys):
    rc = main(["sample", "--scheduler", "dpm", "--prompt", "a small red circle", "--out", str(tmp_path)])
    assert rc == 2 and "choose one of" in capsys.readouterr().err


def test_prompt_and_prompts_are_exclusive(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path)]) == 2
    assert "exactly one of --prompt" in capsys.readouterr().err


def test_config_file_precedence(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("out: from-file\nsteps: 7\nguidance-scale: 5.0\nprompt: [a small red circle]\n")
    _, config, _ = parse(["sample", "--config", str(cfg), "--steps", "9"])
    assert (config.out, config.steps, config.guidance_scale) == ("from-file", 9, 5.0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    with pytest.raises(ValueError, match="unknown options \\['stepz'\\]"):
        parse(["sample", "--config", str(bad)])


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_config_field_is_a_flag_with_help(name):
    from diffusion_dro.cli.main import build_parser

    config_cls, _ = COMMANDS[name][1]()
    parser = build_parser(config_cls, name, "")
    dests = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(config_cls):
        assert f.name in dests, f.name
        assert f.metadata.get("help"), f"{name}: field {f.name} has no help"
    assert "--config" in parser.format_help()  # renders: a bare '%' in a help text would raise here


def test_unknown_command(capsys):
    assert main(["smaple"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_sample_config_fields_match_documented_flags():
    names = {f.name for f in dataclasses.fields(SampleConfig)}
    assert {"model", "adapter", "prompt", "prompts", "seed", "num_images", "out", "negative_prompt"} <= names


def test_no_torchvision_notice_on_commands():
    # torchvision is left out of the install on purpose; transformers' notice that it falls back to the PIL
    # image processors is noise. A fresh process: the notice is printed once per process.
    done = subprocess.run([sys.executable, "-m", "diffusion_dro.cli.main", "sample", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "usage: dro sample" in done.stdout
    assert "torchvision" not in done.stderr
