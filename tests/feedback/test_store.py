"""The store on SQLite and PostgreSQL: apps and keys, idempotent writes, scoping, races, migrations."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from diffusion_dro.feedback.db import migrate
from diffusion_dro.feedback.errors import Conflict, NotFound, Unauthorized, Unprocessable
from diffusion_dro.feedback.events import get_event, ingest_events, list_events
from diffusion_dro.feedback.keys import hash_key
from diffusion_dro.feedback.models import ApiKey, Event
from diffusion_dro.feedback.schemas import EventBatch, GenerationIn


def events(*rows: dict):
    return EventBatch.model_validate({"events": list(rows)}).events


def imp(cid: str, gids: list[str], user: str = "u1") -> dict:
    return {"type": "impression", "client_event_id": cid, "user_id": user, "generation_ids": gids}


def test_keys_are_hashed_and_scoped(store):
    key = store.create_app("alpha")
    other = store.create_app("beta")
    assert store.authenticate(key).name == "alpha" and store.authenticate(other).name == "beta"
    with store.sessions() as s:
        hashes = set(s.scalars(select(ApiKey.key_hash)))
    assert hash_key(key) in hashes and key not in hashes
    with pytest.raises(Unauthorized):
        store.authenticate(key + "x")
    with pytest.raises(Conflict, match="already exists"):
        store.create_app("alpha")
    with pytest.raises(Conflict, match="lowercase"):
        store.create_app("Bad Name")


def test_generations_and_events_are_idempotent(store):
    app = store.authenticate(store.create_app("alpha"))
    gens = [GenerationIn(generation_id=f"g{i}", prompt="p", model="toy") for i in range(3)]
    assert [a.status for a in store.add_generations(app, gens)] == ["accepted"] * 3
    assert [a.status for a in store.add_generations(app, gens[:1])] == ["duplicate"]
    batch = events(imp("e1", ["g0", "g1", "g2"]),
                   {"type": "pick", "client_event_id": "e2", "user_id": "u1", "generation_id": "g1", "impression_id": "e1"})
    first = ingest_events(store, app, batch)
    again = ingest_events(store, app, batch)
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (2, 0, 0, 2)
    assert get_event(store, app, "e1").generation_ids == ["g0", "g1", "g2"]
    page = list_events(store, app, limit=1)
    assert len(page.events) == 1 and page.next_after is not None
    assert [e.client_event_id for e in list_events(store, app, after=page.next_after).events] == ["e2"]
    assert store.stats(app).events == {"impression": 1, "pick": 1}


def test_batch_with_unknown_generation_stores_nothing(store):
    app = store.authenticate(store.create_app("alpha"))
    store.add_generations(app, [GenerationIn(generation_id="g0", prompt="p", model="toy")])
    with pytest.raises(Unprocessable, match=r"events\[1\].*'nope'"):
        ingest_events(store, app, events(imp("e1", ["g0"]), imp("e2", ["g0", "nope"])))
    assert store.stats(app).events == {}


def test_apps_cannot_see_each_other(store):
    a = store.authenticate(store.create_app("alpha"))
    b = store.authenticate(store.create_app("beta"))
    store.add_generations(a, [GenerationIn(generation_id="g0", prompt="p", model="toy")])
    ingest_events(store, a, events(imp("e1", ["g0"])))
    with pytest.raises(NotFound):
        store.get_generation(b, "g0")
    with pytest.raises(NotFound):
        get_event(store, b, "e1")
    assert list_events(store, b).events == []
    # the same client ids are free in another app
    store.add_generations(b, [GenerationIn(generation_id="g0", prompt="q", model="toy")])
    assert ingest_events(store, b, events(imp("e1", ["g0"]))).accepted == 1


def test_racing_retries_store_each_event_once(store):
    app = store.authenticate(store.create_app("alpha"))
    store.add_generations(app, [GenerationIn(generation_id="g0", prompt="p", model="toy")])
    batch = events(*[imp(f"e{i}", ["g0"], user=f"u{i % 3}") for i in range(20)])
    errors: list[BaseException] = []

    def send() -> None:
        try:
            ingest_events(store, app, batch)
        except BaseException as e:  # noqa: BLE001 - collected and re-raised in the test thread
            errors.append(e)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 20
    assert store.stats(app).users == 3


def test_migrations_are_idempotent(store):
    migrate(store.engine)
    migrate(store.engine)
    with store.engine.connect() as c:
        assert c.exec_driver_sql("select version_num from alembic_version").scalar() == "0001"


def test_image_is_content_addressed(store):
    from diffusion_dro.feedback.simulate import png_bytes
    import numpy as np

    app = store.authenticate(store.create_app("alpha"))
    store.add_generations(app, [GenerationIn(generation_id=g, prompt="p", model="toy") for g in ("g0", "g1")])
    data = png_bytes(np.full((4, 4, 3), 0.5, dtype=np.float32))
    a, b = store.set_image(app, "g0", data), store.set_image(app, "g1", data)
    assert a.image_sha256 == b.image_sha256
    path = store.image_path(app, "g0")
    assert path == store.image_path(app, "g1") and path.read_bytes() == data
    assert path.is_relative_to(store.settings.root / "images")
    with pytest.raises(Unprocessable, match="not a readable image"):
        store.set_image(app, "g0", b"not an image")
