"""Loading SD1.5 / SDXL / toy backbones through the hub-id path, LoRA round trips, loader errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from tiny_pipelines import install_in_hub_cache, save_tiny_sd, save_tiny_sdxl

from diffusion_dro.errors import InputError, ModelLoadError
from diffusion_dro.models import attach_lora, load_backbone, load_lora, save_lora
from diffusion_dro.models.lora import plain_unet
from diffusion_dro.models.schedulers import SCHEDULERS
from diffusion_dro.sample.generate import SampleSettings, generate

PROMPTS = ["a small red circle", "a large blue square"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, hub_cache) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny")
    sd, sdxl = save_tiny_sd(root), save_tiny_sdxl(root)
    return {
        "sd_folder": str(sd),
        "sd_hub": install_in_hub_cache(sd, "tiny-org/tiny-sd", hub_cache),
        "sdxl_hub": install_in_hub_cache(sdxl, "tiny-org/tiny-sdxl", hub_cache),
    }


@pytest.mark.parametrize("key,kind", [("sd_hub", "sd"), ("sd_folder", "sd"), ("sdxl_hub", "sdxl")])
def test_load_encode_predict_generate(tiny, key, kind):
    backbone = load_backbone(tiny[key])
    assert backbone.kind == kind
    cond = backbone.encode_prompts(PROMPTS)
    assert len(cond) == 2 and (cond.pooled is not None) == (kind == "sdxl")
    images = generate(backbone, PROMPTS, [0, 1], SampleSettings(steps=2, guidance_scale=2.0))
    assert images.shape == (2, 3, 32, 32) and images.abs().max() <= 1
    # Same seed, same image, whatever the batch.
    alone = generate(backbone, PROMPTS[1:], [1], SampleSettings(steps=2, guidance_scale=2.0))
    torch.testing.assert_close(alone[0], images[1], atol=1e-5, rtol=0)


def test_bf16_load_sets_every_part_at_load_without_cast_warnings(tiny):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    diffusers_log = logging.getLogger("diffusers")  # does not propagate to the root logger, so caplog misses it
    diffusers_log.addHandler(handler)
    try:
        backbone = load_backbone(tiny["sd_folder"], dtype=torch.bfloat16)
    finally:
        diffusers_log.removeHandler(handler)
    parts = [backbone.unet, *backbone.text_encoders, backbone.vae]
    assert {p.dtype for m in parts for p in m.parameters()} == {torch.bfloat16}
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []


def test_progress_false_hides_weight_bars_and_restores_them(tiny, capfd):
    from transformers.utils import logging as hf_logging

    load_backbone(tiny["sd_folder"], progress=False)
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()
    load_backbone(tiny["sd_folder"])
    assert "Loading weights" in capfd.readouterr().err


def test_sdxl_empty_prompt_is_zeros(tiny):
    backbone = load_backbone(tiny["sdxl_hub"])
    cond = backbone.encode_prompts(["", "a small red circle"])
    assert cond.hidden[0].abs().sum() == 0 and cond.pooled[0].abs().sum() == 0
    assert cond.hidden[1].abs().sum() > 0


def test_vae_round_trip_shapes(tiny):
    backbone = load_backbone(tiny["sd_folder"])
    latents = backbone.encode_images(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert latents.shape == (2, *backbone.latent_shape())
    assert backbone.decode(latents).shape == (2, 3, 32, 32)


def _perturb_lora(unet: torch.nn.Module) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)


def test_lora_round_trip_with_alpha_not_rank(tiny, tmp_path):
    backbone = load_backbone(tiny["sd_folder"])
    x, t = torch.randn(2, 4, 16, 16), torch.tensor([10, 500])
    cond = backbone.encode_prompts(PROMPTS)
    base_out = backbone.predict(x, t, cond).detach()
    attach_lora(backbone.unet, rank=4, alpha=16)  # scale 4: a reload that guessed alpha=r would be off
    torch.testing.assert_close(backbone.predict(x, t, cond), base_out)  # B = 0 at start
    _perturb_lora(backbone.unet)
    tuned = backbone.predict(x, t, cond).detach()
    assert not torch.allclose(tuned, base_out)
    backbone.unet.disable_adapters()
    assert torch.equal(backbone.predict(x, t, cond), base_out)  # ref = adapters off, bit-exact
    backbone.unet.enable_adapters()
    save_lora(backbone.unet, tmp_path / "lora")

    reloaded = load_backbone(tiny["sd_folder"], adapter=str(tmp_path / "lora"))
    torch.testing.assert_close(reloaded.predict(x, t, cond), tuned, atol=1e-5, rtol=1e-5)

    pipe = StableDiffusionPipeline.from_pretrained(tiny["sd_folder"])
    pipe.load_lora_weights(tmp_path / "lora")
    out = pipe.unet(x, t, encoder_hidden_states=cond.hidden).sample
    torch.testing.assert_close(out, tuned, atol=1e-5, rtol=1e-5)


def test_plain_unet_is_the_base_bit_exactly_and_shares_its_weights(tiny):
    backbone = load_backbone(tiny["sd_folder"])
    x, t = torch.randn(2, 4, 16, 16), torch.tensor([10, 500])
    cond = backbone.encode_prompts(PROMPTS)
    base_out = backbone.predict(x, t, cond).detach()
    unet = backbone.unet.requires_grad_(False)
    attach_lora(unet, rank=4, alpha=16, targets="all")
    _perturb_lora(unet)
    unet.train()
    plain = plain_unet(unet)
    assert not any("lora" in n for n, _ in plain.named_modules())
    with torch.no_grad():
        assert torch.equal(plain(x, t, **cond.unet_kwargs()).sample, base_out)  # the reference, bit-exact
    # Every tensor is the model's own: no second copy in memory, and the copy's eval() leaves the model alone.
    theirs = {p.data_ptr() for p in unet.parameters()}
    assert all(p.data_ptr() in theirs for p in plain.parameters())
    assert unet.training and not plain.training
    # private tensors are copied and frozen; the model's trainable flags are untouched.
    conv = unet.get_submodule("down_blocks.0.resnets.0.conv1").get_base_layer().weight
    split = plain_unet(unet, private=[conv])
    copied = split.get_submodule("down_blocks.0.resnets.0.conv1").weight
    assert copied is not conv and torch.equal(copied, conv) and not copied.requires_grad
    lora = [p for n, p in unet.named_parameters() if "lora_" in n]
    assert lora and all(p.requires_grad for p in lora)


def test_unet_loads_channels_last_with_the_same_outputs(tiny):
    fast, plain = load_backbone(tiny["sd_folder"]), load_backbone(tiny["sd_folder"], channels_last=False)
    assert fast.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert plain.unet.conv_in.weight.is_contiguous()
    x, t = torch.randn(2, 4, 16, 16), torch.tensor([10, 500])
    cond = fast.encode_prompts(PROMPTS)
    with torch.no_grad():
        torch.testing.assert_close(fast.predict(x, t, cond), plain.predict(x, t, cond), atol=1e-5, rtol=1e-5)


def test_missing_model_folder():
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_backbone("./does/not/exist")


def test_hub_id_not_cached_names_offline_fix():
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        load_backbone("tiny-org/not-cached")


def test_corrupt_weights_file(tiny, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny["sd_folder"], broken)
    weights = next((broken / "unet").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match="unet.*corrupt"):
        load_backbone(str(broken))


def test_adapter_folder_without_weights(tiny, tmp_path):
    with pytest.raises(ModelLoadError, match="pytorch_lora_weights.safetensors"):
        load_backbone(tiny["sd_folder"], adapter=str(tmp_path))


@pytest.fixture(scope="module")
def toy_backbone():
    return load_backbone("toy")


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_named_scheduler_samples(toy_backbone, name):
    """Each --scheduler choice runs the sampling loop (UniPC's step takes no generator) and is seeded."""
    backbone = toy_backbone
    settings = SampleSettings(steps=3, guidance_scale=2.0, scheduler=name)
    first = generate(backbone, PROMPTS, [3, 4], settings)
    assert first.shape == (2, 3, 32, 32) and torch.isfinite(first).all()
    torch.testing.assert_close(generate(backbone, PROMPTS, [3, 4], settings), first, atol=0, rtol=0)


def test_unknown_scheduler_name():
    with pytest.raises(InputError, match="--scheduler 'dpm\\+\\+' is unknown.*dpmsolver\\+\\+"):
        SampleSettings(scheduler="dpm++")


def test_toy_base_loads_with_toy_vocabulary_check():
    backbone = load_backbone("toy")
    assert backbone.kind == "toy" and backbone.vae is None
    assert isinstance(backbone.unet, UNet2DConditionModel)
    with pytest.raises(InputError, match="'banana'"):
        backbone.encode_prompts(["a small banana circle"])
    assert Path(backbone.source) == Path("toy")


@pytest.mark.parametrize("targets", ["attention", "attention+ff", "all"])
def test_lora_round_trip_for_every_target_set(tmp_path, targets):
    """A saved adapter reloads exactly, whichever layers it covers (a mixed key format once dropped attention)."""
    from diffusion_dro.models.lora import attach_lora, save_lora

    trained = load_backbone("toy")
    attach_lora(trained.unet, 4, alpha=8, targets=targets)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in trained.unet.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    save_lora(trained.unet, tmp_path / "lora")
    reloaded = load_backbone("toy", adapter=str(tmp_path / "lora"))
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 500])
    cond = trained.encode_prompts(["a small red circle", ""])
    with torch.no_grad():
        assert torch.equal(reloaded.predict(x, t, cond), trained.predict(x, t, cond))
    # Fused for inference (dro eval, the demo's app): the same function up to float rounding, no LoRA matmuls.
    from peft.tuners.lora import LoraLayer

    fused = load_backbone("toy", adapter=str(tmp_path / "lora"), fuse_adapter=True)
    layers = [m for m in fused.unet.modules() if isinstance(m, LoraLayer)]
    assert layers and all(m.merged for m in layers)
    with torch.no_grad():
        out, want = fused.predict(x, t, cond), trained.predict(x, t, cond)
    assert not torch.equal(want, load_backbone("toy").predict(x, t, cond))  # the adapter matters here
    torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-5)
