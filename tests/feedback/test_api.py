"""The ingest API through FastAPI's TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np

from diffusion_dro.feedback.simulate import png_bytes



def gen(gid: str, **kw) -> dict:
    return {"generation_id": gid, "prompt": "a small red circle", "model": "toy", **kw}


def imp(cid: str, gids: list[str], user: str = "u1") -> dict:
    return {"type": "impression", "client_event_id": cid, "user_id": user, "generation_ids": gids}


def test_auth_is_required_and_per_app(client, new_app):
    a = new_app(client, "alpha")
    assert client.get("/health").status_code == 200
    for method, path in [("get", "/v1/stats"), ("get", "/v1/events"), ("post", "/v1/events"),
                         ("post", "/v1/generations"), ("get", "/v1/generations/g0")]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["detail"]["code"] == "missing_api_key"
        assert r.headers["www-authenticate"] == "ApiKey"
    r = client.get("/v1/stats", headers={"X-API-Key": a["X-API-Key"][:-1] + "?"})
    assert r.status_code == 401 and r.json()["detail"]["code"] == "invalid_api_key"
    assert client.get("/v1/stats", headers=a).json()["app"] == "alpha"


def test_reading_another_apps_data_is_refused(client, new_app):
    a, b = new_app(client, "alpha"), new_app(client, "beta")
    assert client.post("/v1/generations", headers=a, json={"generations": [gen("g0")]}).status_code == 200
    assert client.put("/v1/generations/g0/image", headers={**a, "Content-Type": "image/png"},
                      content=png_bytes(np.zeros((4, 4, 3), np.float32))).status_code == 200
    assert client.post("/v1/events", headers=a, json={"events": [imp("e1", ["g0"])]}).json()["accepted"] == 1
    assert client.get("/v1/generations/g0", headers=a).status_code == 200
    for path in ("/v1/generations/g0", "/v1/generations/g0/image", "/v1/events/e1"):
        r = client.get(path, headers=b)
        assert r.status_code == 404, (path, r.text)
    assert client.get("/v1/events", headers=b).json()["events"] == []
    assert client.get("/v1/stats", headers=b).json()["generations"] == 0
    # b cannot attach events to a's generation either
    r = client.post("/v1/events", headers=b, json={"events": [imp("e1", ["g0"])]})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "unknown_generation"


def test_validation_errors_are_clear_4xx(client, new_app):
    a = new_app(client, "alpha")
    client.post("/v1/generations", headers=a, json={"generations": [gen("g0")]})
    cases = [
        ({"events": [{**imp("e1", ["g0"]), "colour": "red"}]}, "extra_forbidden"),
        ({"events": [{"type": "wink", "client_event_id": "e1", "user_id": "u"}]}, "union_tag_invalid"),
        ({"events": [imp("e1", ["g0", "g0"])]}, "value_error"),
        ({"events": [imp("bad id!", ["g0"])]}, "string_pattern_mismatch"),
        ({"events": [{"type": "rating", "client_event_id": "e1", "user_id": "u", "generation_id": "g0",
                      "rating": 9}]}, "less_than_equal"),
        ({"events": [{"type": "edit", "client_event_id": "e1", "user_id": "u", "generation_id": "g0",
                      "region": {"x": 0.8, "y": 0, "width": 0.5, "height": 0.5}}]}, "value_error"),
        ({"events": []}, "too_short"),
    ]
    for body, kind in cases:
        r = client.post("/v1/events", headers=a, json=body)
        assert r.status_code == 422, (body, r.text)
        assert kind in {d["type"] for d in r.json()["detail"]}, r.text
    r = client.post("/v1/events", headers=a, json={"events": [imp(f"e{i}", ["g0"]) for i in range(51)]})
    assert r.status_code == 413 and r.json()["detail"]["code"] == "batch_too_large"
    r = client.post("/v1/generations", headers=a, json={"generations": [gen("g1", negative_prompt="x" * 2000)] * 200})
    assert r.status_code == 413 and r.json()["detail"]["code"] == "body_too_large"
    r = client.put("/v1/generations/g0/image", headers={**a, "Content-Type": "image/png"}, content=b"GIF89a....")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_image"
    r = client.put("/v1/generations/nope/image", headers={**a, "Content-Type": "image/png"},
                   content=png_bytes(np.zeros((2, 2, 3), np.float32)))
    assert r.status_code == 404 and "POST /v1/generations" in r.json()["detail"]["message"]


def test_batch_ingest_and_idempotent_retries(client, new_app):
    a = new_app(client, "alpha")
    gens = [gen(f"g{i}", seed=i, steps=20, cfg_scale=7.5, width=32, height=32) for i in range(4)]
    assert client.post("/v1/generations", headers=a, json={"generations": gens}).json()["accepted"] == 4
    assert client.post("/v1/generations", headers=a, json={"generations": gens}).json()["duplicates"] == 4
    batch = {"events": [
        imp("e1", ["g0", "g1", "g2", "g3"]),
        {"type": "pick", "client_event_id": "e2", "user_id": "u1", "generation_id": "g2", "impression_id": "e1"},
        {"type": "download", "client_event_id": "e3", "user_id": "u1", "generation_id": "g2"},
        {"type": "share", "client_event_id": "e4", "user_id": "u1", "generation_id": "g2"},
        {"type": "dwell", "client_event_id": "e5", "user_id": "u1", "generation_id": "g2", "dwell_ms": 4200},
        {"type": "rating", "client_event_id": "e6", "user_id": "u1", "generation_id": "g2", "rating": 4.5},
        {"type": "edit", "client_event_id": "e7", "user_id": "u1", "generation_id": "g2",
         "region": {"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}, "instruction": "make it blue"},
        imp("e8", ["g0", "g1"], user="u2"),
        {"type": "regenerate", "client_event_id": "e9", "user_id": "u2", "impression_id": "e8"},
    ]}
    r = client.post("/v1/events", headers=a, json=batch)
    assert r.status_code == 200 and r.json()["accepted"] == 9, r.text
    retry = client.post("/v1/events", headers=a, json=batch).json()
    assert retry["accepted"] == 0 and {x["status"] for x in retry["results"]} == {"duplicate"}
    mixed = client.post("/v1/events", headers=a, json={"events": [batch["events"][0], imp("e10", ["g3"])]}).json()
    assert [x["status"] for x in mixed["results"]] == ["duplicate", "accepted"]
    stats = client.get("/v1/stats", headers=a).json()
    assert stats["users"] == 2 and sum(stats["events"].values()) == 10
    edit = client.get("/v1/events/e7", headers=a).json()
    assert edit["payload"]["instruction"] == "make it blue" and edit["generation_id"] == "g2"
    picks = client.get("/v1/events", headers=a, params={"type": "pick"}).json()["events"]
    assert [e["impression_id"] for e in picks] == ["e1"]
    assert client.get("/v1/generations/g1", headers=a).json()["cfg_scale"] == 7.5


def test_image_upload_roundtrip(client, new_app):
    a = new_app(client, "alpha")
    client.post("/v1/generations", headers=a, json={"generations": [gen("g0"), gen("g1")]})
    data = png_bytes(np.random.default_rng(0).random((8, 8, 3)).astype(np.float32))
    up = client.put("/v1/generations/g0/image", headers={**a, "Content-Type": "image/png"}, content=data).json()
    assert client.get("/v1/generations/g0/image", headers=a).content == data
    assert client.get("/v1/generations/g0", headers=a).json()["image_sha256"] == up["image_sha256"]
    other = png_bytes(np.zeros((8, 8, 3), np.float32))
    r = client.put("/v1/generations/g0/image", headers={**a, "Content-Type": "image/png"}, content=other)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "image_exists"
    r = client.get("/v1/generations/g1/image", headers=a)
    assert r.status_code == 404 and r.json()["detail"]["code"] == "no_image"


def test_openapi_schema_lists_every_route(sqlite_client):
    schema = sqlite_client.get("/openapi.json").json()
    assert {"/v1/events", "/v1/events/{client_event_id}", "/v1/generations", "/v1/generations/{generation_id}",
            "/v1/generations/{generation_id}/image", "/v1/stats", "/health"} <= set(schema["paths"])
    assert "APIKeyHeader" in schema["components"]["securitySchemes"]
