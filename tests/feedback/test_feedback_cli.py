"""The ``dro`` entry points of the feedback part: create-app, stats, curate (also --from_folder)."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient

from diffusion_dro.cli.main import main, parse
from diffusion_dro.feedback.api import create_app
from diffusion_dro.feedback.settings import FeedbackSettings
from diffusion_dro.feedback.simulate import SimulatedUser, Simulator, png_bytes, taste_of
from diffusion_dro.toy.taste import Taste


def test_create_app_prints_key_once_and_stats_summarise(tmp_path, capsys):
    root = str(tmp_path / "store")
    assert main(["feedback", "create-app", "demo", "--data_root", root]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("dro_") and key.encode() not in (tmp_path / "store" / "feedback.db").read_bytes()
    assert main(["feedback", "create-app", "demo", "--data_root", root]) == 2
    assert "already exists" in capsys.readouterr().err
    with TestClient(create_app(FeedbackSettings(data_root=root))) as client:
        client.headers["X-API-Key"] = key
        Simulator(client, np.random.default_rng(1)).run([SimulatedUser("u1", taste_of(Taste()))], rounds=6)
    assert main(["feedback", "stats", "--data_root", root]) == 0
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["app"] == "demo" and stats["generations"] == 24 and stats["events"]["impression"] == 6
    out = tmp_path / "curated"
    assert main(["curate", "--data_root", root, "--out_dir", str(out), "--min_evidence", "1", "--w_share", "2"]) == 0
    assert (out / "expert" / "metadata.jsonl").is_file() and (out / "pairs.jsonl").is_file()
    assert main(["curate", "--data_root", root, "--out_dir", str(out), "--top_fraction", "2"]) == 2
    assert "--top_fraction must be in (0, 1]" in capsys.readouterr().err


def test_curate_from_folder(tmp_path):
    src = tmp_path / "favs"
    src.mkdir()
    for i in range(2):
        (src / f"f{i}.png").write_bytes(png_bytes(np.full((4, 4, 3), i / 2, np.float32)))
        (src / f"f{i}.txt").write_text(f"favourite {i}")
    assert main(["curate", "--from-folder", str(src), "--out_dir", str(tmp_path / "out")]) == 0
    assert len((tmp_path / "out" / "expert" / "metadata.jsonl").read_text().splitlines()) == 2


def test_every_config_field_is_a_flag():
    name, cfg, _ = parse(["curate", "--out_dir", "x", "--user", "alice", "--since", "2026-01-01", "--w_regenerate", "1"])
    assert (name, cfg.user, cfg.since, cfg.w_regenerate) == ("curate", "alice", "2026-01-01", 1.0)
    _, cfg, _ = parse(["feedback", "serve", "--port", "9001", "--max_batch", "10"])
    assert (cfg.port, cfg.max_batch, cfg.host) == (9001, 10, "127.0.0.1")
