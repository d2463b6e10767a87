"""Demo stage 1-2 of each round: the feedback service in-process, the served model's images, simulated users.

The service is the real ingest API (``feedback.api.create_app``) on an SQLite store
in ``OUT/round-N/feedback``, driven through ``fastapi.testclient.TestClient`` (real
requests, no socket). The app shows sets of images the served model (the shipped toy
base in round 1, the previous round's DRO adapter after) generates for training
prompts; each simulated user (``feedback.simulate``) scores what they see
with their true taste, read from pixels by the toy judge, and picks, dwells,
downloads or regenerates. ``simulation.json`` is written last: a folder without it
is an interrupted stage and is redone from scratch (it takes a minute).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from diffusion_dro.demo.config import DemoConfig
from diffusion_dro.feedback.simulate import Candidate, SimulatedUser, Simulator, TrueTaste
from diffusion_dro.toy.taste import parse_taste

APP = "demo"
DONE = "simulation.json"
BATCH_SETS = 8  # sets per UNet batch (32 images: the fastest batch on 2 CPU cores)


def judge_taste(scorer) -> TrueTaste:
    """A user's true taste of generated images: the toy judge's expected taste score."""

    def taste(cands) -> np.ndarray:
        images = torch.from_numpy(np.stack([c.image for c in cands])).permute(0, 3, 1, 2).float()
        return scorer.score_batch(images, [c.prompt for c in cands]).double().numpy()

    return taste


def generated_sets(cfg: DemoConfig, rng: np.random.Generator, adapter: str | None = None) -> Iterator[list[Candidate]]:
    """Sets of ``cfg.set_size`` images of one training prompt from the toy base (plus ``adapter``),
    generated ``BATCH_SETS`` sets at a time."""
    from diffusion_dro.data.prompts import load_prompt_set
    from diffusion_dro.models.loading import load_backbone
    from diffusion_dro.sample.command import DTYPES
    from diffusion_dro.sample.generate import SampleSettings, generate

    # Fused: served as one plain UNet, the adapter costs nothing per step.
    backbone = load_backbone("toy", adapter=adapter, device="cpu", dtype=DTYPES[cfg.app_dtype], fuse_adapter=True,
                             progress=cfg.progress)
    settings = SampleSettings(steps=cfg.app_steps, guidance_scale=cfg.app_guidance)
    train_prompts = load_prompt_set("toy:train").unique().prompts
    made = 0
    while made < cfg.impressions:
        n = min(BATCH_SETS, cfg.impressions - made)
        prompts = [train_prompts[i] for i in rng.integers(len(train_prompts), size=n)]
        flat = [p for p in prompts for _ in range(cfg.set_size)]
        seeds = [int(s) for s in rng.integers(2**31 - 1, size=len(flat))]
        images = ((generate(backbone, flat, seeds, settings).float() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()
        for i in range(n):
            block = range(i * cfg.set_size, (i + 1) * cfg.set_size)
            yield [Candidate(flat[j], images[j]) for j in block]
        made += n


def collect_feedback(cfg: DemoConfig, folder: Path, round_no: int = 1, adapter: str | None = None) -> dict:
    """Run the simulated app once for round ``round_no``, serving the toy base plus ``adapter``;
    returns (and writes to ``folder/simulation.json``) what happened."""
    done = folder / DONE
    if done.is_file():
        return json.loads(done.read_text())
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted simulation: redo it whole
    from fastapi.testclient import TestClient

    from diffusion_dro.feedback.api import create_app
    from diffusion_dro.feedback.settings import FeedbackSettings
    from diffusion_dro.score.toy import load_toy_taste

    rng = np.random.default_rng([cfg.seed, round_no])  # each round its own users' noise, prompts and seeds
    judge = judge_taste(load_toy_taste(taste=parse_taste(cfg.taste)))
    true_scores: list[float] = []

    def taste(cands) -> np.ndarray:  # each set is shown to one user, so this records every shown image once
        scores = judge(cands)
        true_scores.extend(scores.tolist())
        return scores

    users = [SimulatedUser(f"user-{u}", taste, temperature=cfg.temperature) for u in range(cfg.users)]
    sets = generated_sets(cfg, rng, adapter)
    counts: dict[str, int] = {}
    with TestClient(create_app(FeedbackSettings(data_root=str(folder)))) as client:
        client.headers["X-API-Key"] = client.app.state.feedback_store.create_app(APP)
        sim = Simulator(client, rng, set_size=cfg.set_size, make_set=lambda _rng, _k: next(sets), model="toy",
                        adapter=adapter)
        for n in tqdm(range(cfg.impressions), desc="feedback", unit="set", disable=not cfg.progress):
            for action in sim.show([users[n % len(users)]]):
                counts[action] = counts.get(action, 0) + 1
        stats = client.get("/v1/stats").json()
    summary = {"app": APP, "round": round_no, "served": "toy" if adapter is None else f"toy + {adapter}",
               "app_settings": {"steps": cfg.app_steps, "guidance_scale": cfg.app_guidance, "dtype": cfg.app_dtype},
               "impressions": cfg.impressions, "images": cfg.impressions * cfg.set_size,
               "users": cfg.users, "actions": counts, "stats": stats,
               "mean_true_taste_shown": float(np.mean(true_scores))}
    done.write_text(json.dumps(summary, indent=2))
    return summary
