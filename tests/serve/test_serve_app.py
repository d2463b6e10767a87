"""The served app end to end on the real toy model: page, generation, storage, validation, feedback events."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from diffusion_dro.cli.main import main


def session(client) -> dict:
    return client.post("/page/session").json()


def generate(client, **body) -> dict:
    r = client.post("/page/generate", json={"prompt": "a small red circle", "num_images": 2} | body)
    assert r.status_code == 200, r.text
    return r.json()


def test_page_and_its_assets_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'id="prompt"' in r.text and 'id="regenerate"' in r.text and "/static/page.js" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "http" not in r.text.replace("http-equiv", "")  # nothing from a CDN
    for asset, kind in (("page.js", "javascript"), ("page.css", "text/css")):
        a = client.get(f"/static/{asset}")
        assert a.status_code == 200 and kind in a.headers["content-type"]
    info = client.get("/page/info").json()
    assert (info["model"], info["resolution"], info["default_steps"], info["max_images"]) == ("toy", 32, 4, 8)
    assert "a {size} {colour} {shape}" in info["prompt_rule"] and info["example_prompts"]


def test_session_cookie_is_http_only_and_stable(client, visitor):
    me = session(client)
    assert me == session(client) and me["event_prefix"] == f"{me['user_id']}."
    assert session(visitor())["user_id"] != me["user_id"]
    fresh = type(client)(client.app).post("/page/session")
    cookie = fresh.headers["set-cookie"].lower()
    assert cookie.startswith("dro_session=u-") and "httponly" in cookie and "samesite=strict" in cookie
    assert "set-cookie" not in client.post("/page/session").headers  # a valid session is kept, not renewed


def test_generate_stores_and_registers_images(client, store, page_app):
    user = session(client)["user_id"]
    res = generate(client, seed=11, guidance_scale=4.0, num_images=3, negative_prompt="a large blue cross")
    assert [i["seed"] for i in res["images"]] == [11, 12, 13]
    assert (res["steps"], res["guidance_scale"], res["width"], res["height"]) == (4, 4.0, 32, 32)
    for image in res["images"]:
        gen = store.get_generation(page_app, image["generation_id"])
        assert (gen.user_id, gen.model, gen.adapter, gen.seed, gen.steps, gen.cfg_scale) == (
            user, "toy", None, image["seed"], 4, 4.0)
        assert (gen.width, gen.height, gen.negative_prompt, gen.image_sha256) == (
            32, 32, "a large blue cross", image["image_sha256"])
        r = client.get(image["image_url"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert hashlib.sha256(r.content).hexdigest() == image["image_sha256"]
        assert Image.open(io.BytesIO(r.content)).size == (32, 32)
    again = generate(client, seed=12, guidance_scale=4.0, num_images=1, negative_prompt="a large blue cross")
    # Same prompt, seed and settings: the same image. A batch of 1 rounds its float sums differently from a
    # batch of 3 on the CPU, so a pixel may differ by one 8-bit level, never more.
    alone, in_batch = (np.asarray(Image.open(io.BytesIO(client.get(i["image_url"]).content)), dtype=np.int16)
                       for i in (again["images"][0], res["images"][1]))
    assert np.abs(alone - in_batch).max() <= 1 and (alone != in_batch).mean() < 0.01
    download = client.get(res["images"][0]["image_url"], params={"download": "true"})
    assert download.headers["content-disposition"].startswith("attachment")


def test_random_seed_and_default_steps(client):
    a, b = generate(client, num_images=1), generate(client, num_images=1)
    assert a["steps"] == 4 and a["images"][0]["seed"] != b["images"][0]["seed"]


@pytest.mark.parametrize("body, status, needle", [
    ({"prompt": "a small red banana"}, 422, "a {size} {colour} {shape}"),
    ({"prompt": "a small red circle", "negative_prompt": "blurry"}, 422, "negative_prompt: toy prompt 'blurry'"),
    ({"prompt": "a small red circle", "num_images": 9}, 422, "num_images"),
    ({"prompt": "a small red circle", "num_images": 0}, 422, "num_images"),
    ({"prompt": "a small red circle", "steps": 101}, 422, "steps"),
    ({"prompt": "a small red circle", "guidance_scale": -1}, 422, "guidance_scale"),
    ({"prompt": "x" * 501}, 422, "prompt"),
    ({"prompt": ""}, 422, "prompt"),
    ({"prompt": "a small red circle", "sed": 3}, 422, "sed"),
])
def test_generate_validation(client, body, status, needle):
    r = client.post("/page/generate", json=body)
    assert r.status_code == status and needle in r.text, r.text


def test_page_routes_need_a_session(client):
    anonymous = type(client)(client.app)
    for method, path, body in (("post", "/page/generate", {"prompt": "a small red circle"}),
                               ("post", "/page/events", {"events": []})):
        r = getattr(anonymous, method)(path, json=body)
        assert r.status_code == 401 and r.json()["detail"]["code"] == "no_session"
    for token in ("u-0000000000000000.forged", "u-0.\u00e9t\u00e9", "no-dot"):
        forged = anonymous.post("/page/generate", json={"prompt": "a small red circle"},
                                headers={"Cookie": f"dro_session={token}".encode("utf-8")})
        assert forged.status_code == 401, token


def events_of(client, user: str, prefix: str, ids: list[str], round_: str, regenerate: bool) -> list[dict]:
    imp = f"{prefix}imp-{round_}"
    evs = [{"type": "impression", "client_event_id": imp, "user_id": user, "generation_ids": ids}]
    if regenerate:
        return evs + [{"type": "regenerate", "client_event_id": f"{prefix}regen-{round_}", "user_id": user,
                       "impression_id": imp}]
    base = {"user_id": user, "generation_id": ids[1], "impression_id": imp}
    return evs + [{"type": "pick", "client_event_id": f"{prefix}pick-{round_}", **base},
                  {"type": "download", "client_event_id": f"{prefix}dl-{round_}", **base},
                  {"type": "dwell", "client_event_id": f"{prefix}dwell-{round_}", "dwell_ms": 2400, **base}]


def test_pick_download_regenerate_flow_is_recorded(visitor, store, page_app, capsys, tmp_path, config):
    page = visitor()
    me = session(page)
    before = store.stats(page_app).events
    rejected = [i["generation_id"] for i in generate(page, prompt="a large green square", num_images=3)["images"]]
    kept = [i["generation_id"] for i in generate(page, prompt="a large green square", num_images=3)["images"]]
    batch = (events_of(page, me["user_id"], me["event_prefix"], rejected, "1", regenerate=True)
             + events_of(page, me["user_id"], me["event_prefix"], kept, "2", regenerate=False))
    r = page.post("/page/events", json={"events": batch})
    assert r.status_code == 200 and r.json()["accepted"] == 6
    assert page.post("/page/events", json={"events": batch}).json()["duplicates"] == 6  # a retry stores nothing twice
    after = store.stats(page_app).events
    assert {k: after.get(k, 0) - before.get(k, 0) for k in after} == {
        "impression": 2, "regenerate": 1, "pick": 1, "download": 1, "dwell": 1}

    assert main(["feedback", "stats", "--data_root", config.data_root, "--app", "web"]) == 0
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["app"] == "web" and stats["events"]["pick"] >= 1 and stats["events"]["regenerate"] >= 1

    out = tmp_path / "curated"
    assert main(["curate", "--data_root", config.data_root, "--app", "web", "--user", me["user_id"],
                 "--out_dir", str(out), "--min_evidence", "1", "--top_k", "1"]) == 0
    row = json.loads((out / "expert" / "metadata.jsonl").read_text().splitlines()[0])
    assert row["source"] == f"feedback:web/{kept[1]}"  # the picked, downloaded image tops this user's set


def test_a_page_session_touches_only_its_own_data(client, visitor):
    mine = generate(client, num_images=1)["images"][0]
    other = visitor()
    them = session(other)
    own = generate(other, num_images=1)["images"][0]["generation_id"]
    user, prefix = them["user_id"], them["event_prefix"]
    cases = [
        ({"type": "impression", "client_event_id": f"{prefix}a", "user_id": session(client)["user_id"],
          "generation_ids": [own]}, 403, "wrong_user"),
        ({"type": "impression", "client_event_id": "someone-else.a", "user_id": user, "generation_ids": [own]},
         403, "foreign_event_id"),
        ({"type": "pick", "client_event_id": f"{prefix}b", "user_id": user, "generation_id": own,
          "impression_id": "x.imp"}, 403, "foreign_event_id"),
        ({"type": "pick", "client_event_id": f"{prefix}c", "user_id": user, "generation_id": mine["generation_id"],
          "impression_id": f"{prefix}imp"}, 403, "foreign_generation"),
        ({"type": "download", "client_event_id": f"{prefix}d", "user_id": user, "generation_id": "gen-nope"},
         422, "unknown_generation"),
    ]
    for event, status, code in cases:
        r = other.post("/page/events", json={"events": [event]})
        assert (r.status_code, r.json()["detail"]["code"]) == (status, code), r.text
    assert other.get(mine["image_url"]).status_code == 404  # another visitor's image is not theirs to fetch


def test_api_clients_generate_with_their_key(client, store, page_app):
    key = store.create_app("partner")
    body = {"prompt": "a small blue circle", "num_images": 2, "seed": 5, "user_id": "alice"}
    assert client.post("/v1/generate", json=body).status_code == 401
    r = client.post("/v1/generate", json=body, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    image = r.json()["images"][0]
    assert image["image_url"] == f"/v1/generations/{image['generation_id']}/image"
    got = client.get(image["image_url"], headers={"X-API-Key": key})
    assert hashlib.sha256(got.content).hexdigest() == image["image_sha256"]
    gen = client.get(f"/v1/generations/{image['generation_id']}", headers={"X-API-Key": key}).json()
    assert (gen["user_id"], gen["seed"], gen["model"]) == ("alice", 5, "toy")
    page_gen = generate(client, num_images=1)["images"][0]["generation_id"]
    assert client.get(f"/v1/generations/{page_gen}", headers={"X-API-Key": key}).status_code == 404
    assert client.get(image["image_url"]).status_code == 401


def test_concurrent_requests_share_the_model(client):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda s: generate(client, seed=s, num_images=1), [100, 200, 100]))
    shas = [r["images"][0]["image_sha256"] for r in results]
    assert shas[0] == shas[2] != shas[1]  # serialised: same seed, same image, whatever ran alongside


def test_too_many_waiting_requests_get_busy(client):
    import threading

    model = client.app.state.model
    waiting = threading.Thread(target=lambda: generate(client, num_images=1))
    with model._lock:  # hold the model, as a long generation would
        saved, model.max_waiting = model.max_waiting, 0
        try:
            waiting.start()
            while model._inside == 0:
                waiting.join(0.01)
            r = client.post("/page/generate", json={"prompt": "a small red circle"})
        finally:
            model.max_waiting = saved
    waiting.join()
    assert r.status_code == 503 and r.json()["detail"]["code"] == "busy"
