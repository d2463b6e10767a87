"""Tiny SD1.5 and SDXL (from configs, no network) train in LoRA and full mode; outputs load in diffusers."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_pipelines import install_in_hub_cache, save_tiny_sd, save_tiny_sdxl  # noqa: E402

from diffusion_dro.models.loading import load_backbone  # noqa: E402
from diffusion_dro.train.config import TrainConfig  # noqa: E402
from diffusion_dro.train.loop import train  # noqa: E402


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, hub_cache) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-train")
    sd, sdxl = save_tiny_sd(root), save_tiny_sdxl(root)
    vpred = root / "sd-v"
    shutil.copytree(sd, vpred)
    sched = vpred / "scheduler" / "scheduler_config.json"
    sched.write_text(json.dumps({**json.loads(sched.read_text()), "prediction_type": "v_prediction"}))
    return {"sd": str(sd), "sd-v": str(vpred), "sdxl": install_in_hub_cache(sdxl, "tiny-org/tiny-sdxl-train", hub_cache)}


def _train(tmp_path, experts, model, **kw) -> Path:
    return train(TrainConfig(out=str(tmp_path / "run"), experts=experts, model=model, max_steps=2, batch_size=2,
                             new_trajectories=2, timesteps_per_trajectory=1, buffer_size=4, rollout_steps=3,
                             lora_rank=4, progress=False, device="cpu", **kw))


@pytest.mark.parametrize("which", ["sd", "sd-v", "sdxl"])
def test_lora_trains_and_loads_into_a_fresh_pipeline(tmp_path, toy_expert_dir, tiny_models, which):
    final = _train(tmp_path, toy_expert_dir, tiny_models[which], learning_rate=1e-2)
    pipe_cls = StableDiffusionXLPipeline if which == "sdxl" else StableDiffusionPipeline
    kwargs = dict(prompt="a small red circle", num_inference_steps=2, output_type="np", guidance_scale=1.0)
    pipe = pipe_cls.from_pretrained(tiny_models[which])
    before = pipe(generator=torch.Generator().manual_seed(0), **kwargs).images
    pipe.load_lora_weights(final)
    after = pipe(generator=torch.Generator().manual_seed(0), **kwargs).images
    assert after.shape == before.shape and not torch.allclose(torch.tensor(after), torch.tensor(before), atol=1e-6)


@pytest.mark.parametrize("which", ["sd", "sdxl"])
def test_full_trains_and_loads(tmp_path, toy_expert_dir, tiny_models, which):
    final = _train(tmp_path, toy_expert_dir, tiny_models[which], full=True, learning_rate=1e-3)
    unet = UNet2DConditionModel.from_pretrained(final / "unet")
    base = load_backbone(tiny_models[which]).unet
    assert any(not torch.equal(a, b) for a, b in zip(unet.parameters(), base.parameters()))
    tuned = load_backbone(str(final))
    assert tuned.kind == ("sdxl" if which == "sdxl" else "sd")
    assert all(torch.equal(a, b) for a, b in zip(tuned.unet.parameters(), unet.parameters()))
