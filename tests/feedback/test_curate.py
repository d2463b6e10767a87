"""Curation: hand-worked scores, simulated toy users through the real API, outputs, personal tastes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fastapi.testclient import TestClient

from diffusion_dro.errors import InputError
from diffusion_dro.feedback.api import create_app
from diffusion_dro.feedback.settings import FeedbackSettings
from diffusion_dro.feedback.curate import CurationWeights, EventRecord, evidence, kept, scores
from diffusion_dro.feedback.curate_command import CurateConfig, curate_store
from diffusion_dro.feedback.simulate import SimulatedUser, Simulator, taste_of
from diffusion_dro.toy.taste import Taste, parse_taste

OPPOSITE = parse_taste('{"background": {"noisy": 1, "gradient": -1}, "level": {"dark": 0.5, "light": -0.5}, '
                       '"fill": {"outline": 0.5, "filled": -0.5}, "offset": {"off": 0.5, "centred": -0.5}}')


def test_pick_over_shown_set_and_regenerate_by_hand():
    """Impression {a, b, c}, pick a: a +1, b and c -1/2 each. A second impression {b, c} regenerated: -0.5 each.

    Raw: a = 1, b = -1, c = -1; mean -1/3, std sqrt(8/9) -> z(a) = (4/3)/0.9428 = 1.4142, z(b) = z(c) = -0.7071.
    One prompt, three images, shrinkage 1: shift = 3/4 x mean(z) = 0, so scores are the z.
    """
    w = CurationWeights()
    events = [EventRecord("i1", "impression", "u"), EventRecord("p", "pick", "u", "a", "i1"),
              EventRecord("i2", "impression", "u"), EventRecord("r", "regenerate", "u", None, "i2")]
    shown = {"i1": ["a", "b", "c"], "i2": ["b", "c"]}
    sig = evidence(events, shown, w)
    assert sorted((s.generation, s.value) for s in sig if s.value) == [("a", 1.0), ("b", -0.5), ("b", -0.5), ("c", -0.5), ("c", -0.5)]
    out = scores(sig, {"a": "p", "b": "p", "c": "p"}, w)
    assert out["a"].score == pytest.approx(2**0.5) and out["b"].score == pytest.approx(-(2**-0.5))
    assert out["b"].evidence == 4  # two impressions, one pick penalty, one regenerate
    assert set(scores(sig, {"a": "p", "b": "p", "c": "p"}, w, min_evidence=3)) == {"b", "c"}


def test_prolific_users_and_easy_prompts_do_not_dominate():
    w = CurationWeights(prompt_shrinkage=0.0)
    # u1 downloads 10x more than u2 but z-scoring makes their top image weigh the same
    sig = evidence([EventRecord(f"d{i}", "download", "u1", "x") for i in range(10)]
                   + [EventRecord("d", "download", "u2", "y")]
                   + [EventRecord(f"i{u}", "impression", u) for u in ("u1", "u2")],
                   {"iu1": ["x", "x2"], "iu2": ["y", "y2"]}, w)
    prompts = {"x": "p1", "x2": "p1", "y": "p2", "y2": "p2"}
    out = scores(sig, prompts, w)
    assert out["x"].score == pytest.approx(out["y"].score)
    # every image of an easy prompt got a download: full centring leaves them at 0
    easy = evidence([EventRecord(f"d{g}", "download", "u", g) for g in ("e1", "e2")]
                    + [EventRecord("d", "download", "u", "h1"), EventRecord("i", "impression", "u")],
                    {"i": ["e1", "e2", "h1", "h2"]}, w)
    out = scores(easy, {"e1": "easy", "e2": "easy", "h1": "hard", "h2": "hard"}, w)
    assert out["e1"].score == pytest.approx(0) and out["h1"].score > 0 > out["h2"].score


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Two users with opposite tastes shown the same 40 sets of 4 toy renders through the API (built once)."""
    settings = FeedbackSettings(data_root=str(tmp_path_factory.mktemp("sim") / "store"))
    with TestClient(create_app(settings)) as client:
        client.headers["X-API-Key"] = client.app.state.feedback_store.create_app("toyapp")
        users = [SimulatedUser("alice", taste_of(Taste())), SimulatedUser("bob", taste_of(OPPOSITE))]
        sim = Simulator(client, np.random.default_rng(0))
        counts = sim.run(users, rounds=40, shared=True)
        assert counts.get("pick", 0) + counts.get("download", 0) > 40
        yield client.app.state.feedback_store, sim, users


def _expert(out_dir) -> list[dict]:
    return [json.loads(line) for line in (out_dir / "expert" / "metadata.jsonl").read_text().splitlines()]


def test_curated_sets_beat_the_pool_and_follow_each_users_taste(simulated, tmp_path):
    store, sim, (alice, bob) = simulated
    pool = list(sim.shown)
    sets, report = {}, []
    for user in (alice, bob):
        cfg = CurateConfig(data_root=store.settings.data_root, out_dir=str(tmp_path / user.user_id), user=user.user_id,
                           app="toyapp")
        summary = curate_store(cfg, store)
        gens = [row["source"].split("/", 1)[1] for row in _expert(tmp_path / user.user_id)]
        sets[user.user_id] = set(gens)
        mine = user.taste([sim.shown[g] for g in gens]).mean()
        base = user.taste([sim.shown[g] for g in pool]).mean()
        report.append(f"{user.user_id}: expert {len(gens)} images, mean true taste {mine:.2f} vs pool {base:.2f} "
                      f"({len(pool)} images); pairs {summary['pairs']}, labels {summary['labels']}")
        assert mine > base + 1.0, report[-1]
    print("\n" + "\n".join(report))
    overlap = len(sets["alice"] & sets["bob"]) / len(sets["alice"] | sets["bob"])
    print(f"Jaccard overlap of alice's and bob's expert sets: {overlap:.2f}")
    assert overlap < 0.2
    cross = bob.taste([sim.shown[g] for g in sets["alice"]]).mean()
    own = bob.taste([sim.shown[g] for g in sets["bob"]]).mean()
    assert own > cross + 1.0


def test_curate_outputs_are_complete(simulated, tmp_path):
    store, sim, _ = simulated
    out = tmp_path / "all"
    cfg = CurateConfig(data_root=store.settings.data_root, out_dir=str(out), top_k=10, max_per_prompt=2)
    summary = curate_store(cfg, store)
    rows = _expert(out)
    assert len(rows) == summary["expert"] == 10 and all((out / "expert" / r["file_name"]).is_file() for r in rows)
    assert set(rows[0]) == {"file_name", "prompt", "score", "source"}
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == summary["pairs"] > 0 and all((out / p["chosen"]).is_file() and (out / p["rejected"]).is_file() for p in pairs)
    labels = [json.loads(x) for x in (out / "labels.jsonl").read_text().splitlines()]
    assert {True, False} == {row["label"] for row in labels}
    assert json.loads((out / "summary.json").read_text())["config"]["top_k"] == 10
    with pytest.raises(InputError, match="exists"):
        curate_store(cfg, store)
    with pytest.raises(InputError, match="no events match"):
        curate_store(CurateConfig(data_root=store.settings.data_root, out_dir=str(tmp_path / "x"), until="2000-01-01"), store)
    datasets = pytest.importorskip("datasets", reason="datasets not installed: imagefolder check skipped")
    ds = datasets.load_dataset("imagefolder", data_dir=str(out / "expert"), split="train")
    assert len(ds) == 10 and "prompt" in ds.column_names


def test_kept_is_downloads_and_shares_by_hand():
    events = [EventRecord("1", "pick", "u", "a", "i"), EventRecord("2", "download", "u", "b"),
              EventRecord("3", "share", "v", "c"), EventRecord("4", "edit", "u", "d"),
              EventRecord("5", "download", "u", None), EventRecord("6", "dwell", "u", "a", "i", 3000.0)]
    assert kept(events) == {"b", "c"}


def test_kept_only_experts_are_downloaded_images(simulated, tmp_path):
    store, sim, _ = simulated
    root = store.settings.data_root
    plain = curate_store(CurateConfig(data_root=root, out_dir=str(tmp_path / "all"), top_fraction=1.0), store)
    only = curate_store(CurateConfig(data_root=root, out_dir=str(tmp_path / "kept"), top_fraction=1.0,
                                     kept_only=True), store)
    with store.sessions() as s:
        from sqlalchemy import select

        from diffusion_dro.feedback.models import Event, Generation

        downloaded = set(s.scalars(select(Generation.external_id).join(Event, Event.generation_id == Generation.id)
                                   .where(Event.type == "download")))
    gens = {row["source"].split("/", 1)[1] for row in _expert(tmp_path / "kept")}
    assert gens and gens <= downloaded and only["kept_images"] == len(downloaded)
    assert only["expert"] < plain["expert"]  # the other positively scored images are left out
    assert only["pairs"] == plain["pairs"] and only["labels"] == plain["labels"]  # only the experts change
