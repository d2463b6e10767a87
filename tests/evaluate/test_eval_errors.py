"""``dro eval`` fails early and clearly: scorer names, model specs and paths, prompt sets, image sizes."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from diffusion_dro.cli.main import main
from diffusion_dro.errors import InputError, ModelLoadError
from diffusion_dro.evaluate import EvalConfig, parse_model_spec, run_eval
from diffusion_dro.evaluate.scoring import load_images


def run_cli(capsys, *args: str) -> str:
    assert main(["eval", *args]) == 2
    return capsys.readouterr().err


def test_unknown_scorer_lists_the_known_ones(tmp_path, capsys):
    err = run_cli(capsys, "--model", "base=toy", "--scorers", "toy-taste,pickscor", "--out", str(tmp_path))
    assert "unknown scorer 'pickscor'" in err and "'pickscore'" in err and "'toy-adherence'" in err
    assert not (tmp_path / "images").exists()  # nothing generated before the check


def test_missing_model_path_names_the_model(tmp_path, capsys):
    err = run_cli(capsys, "--model", "base=toy", f"dro={tmp_path / 'runs' / 'nope'}", "--out", str(tmp_path / "o"))
    assert "--model dro=" in err and "no such folder" in err


def test_missing_adapter_weights(tmp_path, capsys):
    err = run_cli(capsys, "--model", f"dro=toy,{tmp_path}", "--out", str(tmp_path / "o"))
    assert "--model dro" in err and "pytorch_lora_weights.safetensors" in err


@pytest.mark.parametrize("spec,message", [
    ("toy", "is not NAME=MODEL"),
    ("=toy", "is not NAME=MODEL"),
    ("base=", "is not NAME=MODEL"),
    ("my model=toy", "must be letters, digits"),
    ("base=,adapter", "names no model"),
])
def test_bad_model_specs(spec, message):
    with pytest.raises(InputError, match=message):
        parse_model_spec(spec)


def test_model_spec_forms():
    assert parse_model_spec("base=toy").adapter is None
    spec = parse_model_spec("dro=toy,runs/x/final")
    assert (spec.name, spec.model, spec.adapter) == ("dro", "toy", "runs/x/final")


def test_config_errors(tmp_path):
    out = str(tmp_path)
    with pytest.raises(InputError, match="unique.*'base'"):
        EvalConfig(out=out, model=["base=toy", "base=toy"])
    with pytest.raises(InputError, match="at least one --model"):
        EvalConfig(out=out, model=[])
    with pytest.raises(InputError, match="--seeds must be a positive"):
        EvalConfig(out=out, model=["base=toy"], seeds=0)
    with pytest.raises(InputError, match="--exclude-scorer \\['pickscore'\\] not among"):
        EvalConfig(out=out, model=["base=toy"], exclude_scorer="pickscore")
    with pytest.raises(InputError, match="removes every scorer"):
        EvalConfig(out=out, model=["base=toy"], scorers="toy-taste", exclude_scorer="toy-taste")
    with pytest.raises(InputError, match="--taste only changes the toy-taste"):
        EvalConfig(out=out, model=["base=toy"], scorers="toy-adherence", taste='{"fill": {"outline": 1}}')
    with pytest.raises(InputError, match="unknown attribute 'colour'"):
        EvalConfig(out=out, model=["base=toy"], taste='{"colour": {"red": 1}}')
    with pytest.raises(InputError, match="--scheduler"):
        EvalConfig(out=out, model=["base=toy"], scheduler="nope")
    with pytest.raises(InputError, match="--scorer-source"):
        EvalConfig(out=out, model=["base=toy"], scorer_source=["pickscore"])
    config = EvalConfig(out=out, model=["base=toy"], scorers="toy-taste, toy-adherence", exclude_scorer="toy-taste")
    assert config.scorer_names == ["toy-adherence"] and config.selection_name == "toy-adherence"


def test_empty_and_missing_prompt_sets(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    err = run_cli(capsys, "--model", "base=toy", "--prompts", str(empty), "--out", str(tmp_path / "o"))
    assert "is empty" in err and "empty.txt" in err
    err = run_cli(capsys, "--model", "base=toy", "--prompts", str(tmp_path / "none.txt"), "--out", str(tmp_path / "o"))
    assert "no such file" in err and "toy:heldout" in err


def test_models_of_different_sizes_are_refused_before_generating_the_second(tmp_path):
    from diffusion_dro.toy.assets import asset_path

    small = tmp_path / "small"  # the toy's own folder, its UNet declared for 16x16 samples
    shutil.copytree(asset_path("base"), small)
    config_file = small / "unet" / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "sample_size": 16}))
    config = EvalConfig(out=str(tmp_path / "o"), model=["base=toy", f"small={small}"], max_prompts=1, seeds=1,
                        steps=1, scorers="toy-adherence")
    with pytest.raises(InputError, match="small makes 16x16 images but base makes 32x32.*--resolution 32"):
        run_eval(config)
    assert not list((tmp_path / "o" / "images" / "small").glob("*.png"))


def test_image_of_another_size_on_disk_is_refused(tmp_path):
    Image.new("RGB", (16, 16)).save(tmp_path / "a.png")
    with pytest.raises(InputError, match="a.png is 16x16 but this run's images are 32x32.*Delete the file"):
        load_images([tmp_path / "a.png"], 32)


def test_toy_prompts_outside_the_vocabulary(tmp_path, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a small red banana\n")
    err = run_cli(capsys, "--model", "base=toy", "--prompts", str(prompts), "--steps", "1", "--out", str(tmp_path / "o"))
    assert "banana" in err


def test_model_load_error_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError):
        EvalConfig(out=str(tmp_path), model=[f"x={tmp_path / 'missing'}"])
