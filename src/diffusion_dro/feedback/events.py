"""Writing and reading events: batch ingest with idempotency, and app-scoped reads.

Ingest is all-or-nothing per request and one transaction: users are created on
first sight, every referenced generation must already be registered (else 422
naming the event and the id), and each ``client_event_id`` is stored at most once
per app (``INSERT ... ON CONFLICT DO NOTHING`` under a unique constraint), so a
retried request is acknowledged as ``duplicate`` instead of stored twice, even
when two retries race.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from diffusion_dro.feedback.errors import NotFound, Unprocessable
from diffusion_dro.feedback.models import Event, Generation, ImpressionItem, User, as_utc, utcnow
from diffusion_dro.feedback.schemas import Ack, BatchAck, Dwell, Edit, EventIn, EventOut, EventPage, Impression, Rating
from diffusion_dro.feedback.store import AppRef, FeedbackStore, generation_ids, insert_ignore, user_ids

__all__ = ["ingest_events", "list_events", "get_event"]


def _aware(t: datetime | None, default: datetime) -> datetime:
    return default if t is None else as_utc(t)


def _row(e: EventIn, app_id: int, users: dict[str, int], gens: dict[str, int], now: datetime) -> dict:
    value = e.dwell_ms if isinstance(e, Dwell) else e.rating if isinstance(e, Rating) else None
    payload = None
    if isinstance(e, Edit):
        payload = {"region": e.region.model_dump() if e.region else None, "instruction": e.instruction}
    gen = getattr(e, "generation_id", None)
    return {
        "app_id": app_id, "client_event_id": e.client_event_id, "type": e.type, "user_id": users[e.user_id],
        "generation_id": gens[gen] if gen else None, "impression_client_id": getattr(e, "impression_id", None),
        "value": None if value is None else float(value), "payload": payload,
        "occurred_at": _aware(e.occurred_at, now), "received_at": now,
    }


def ingest_events(store: FeedbackStore, app: AppRef, events: Sequence[EventIn]) -> BatchAck:
    """Store ``events`` for ``app`` in one transaction; return one ack per event, in order."""
    now = utcnow()
    referenced = {g for e in events for g in (getattr(e, "generation_ids", None) or [getattr(e, "generation_id", None)]) if g}
    with store.sessions.begin() as s:
        gens = generation_ids(s, app.id, referenced)
        for i, e in enumerate(events):
            missing = [g for g in (e.generation_ids if isinstance(e, Impression) else [getattr(e, "generation_id", None)])
                       if g and g not in gens]
            if missing:
                raise Unprocessable(
                    "unknown_generation",
                    f"events[{i}] ({e.client_event_id!r}) refers to generation(s) {missing} that app {app.name!r} "
                    "has not registered; POST them to /v1/generations first. Nothing in this batch was stored.",
                )
        users = user_ids(s, app.id, (e.user_id for e in events))
        existing = set(s.scalars(select(Event.client_event_id).where(
            Event.app_id == app.id, Event.client_event_id.in_({e.client_event_id for e in events}))))
        fresh: dict[str, EventIn] = {}
        for e in events:
            if e.client_event_id not in existing and e.client_event_id not in fresh:
                fresh[e.client_event_id] = e
        rows = [_row(e, app.id, users, gens, now) for e in fresh.values()]
        inserted = {r.client_event_id: r.id for r in insert_ignore(s, Event.__table__, rows, ("app_id", "client_event_id"))}
        items = [
            {"event_id": inserted[cid], "position": pos, "generation_id": gens[g]}
            for cid, e in fresh.items() if cid in inserted and isinstance(e, Impression)
            for pos, g in enumerate(e.generation_ids)
        ]
        if items:
            s.execute(ImpressionItem.__table__.insert(), items)
    acks, seen = [], set()
    for e in events:
        ok = e.client_event_id in inserted and e.client_event_id not in seen
        seen.add(e.client_event_id)
        acks.append(Ack(id=e.client_event_id, status="accepted" if ok else "duplicate"))
    accepted = sum(a.status == "accepted" for a in acks)
    return BatchAck(accepted=accepted, duplicates=len(acks) - accepted, results=acks)


def _page(store: FeedbackStore, app: AppRef, where: list, limit: int) -> tuple[list[EventOut], int | None]:
    gen = aliased(Generation)
    stmt = (
        select(Event, User.external_id.label("user"), gen.external_id.label("gen"))
        .join(User, User.id == Event.user_id)
        .outerjoin(gen, gen.id == Event.generation_id)
        .where(Event.app_id == app.id, *where)
        .order_by(Event.id)
        .limit(limit + 1)
    )
    with store.sessions() as s:
        rows = s.execute(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        shown: dict[int, list[str]] = {}
        imp_ids = [r.Event.id for r in rows if r.Event.type == "impression"]
        if imp_ids:
            q = (select(ImpressionItem.event_id, Generation.external_id)
                 .join(Generation, Generation.id == ImpressionItem.generation_id)
                 .where(ImpressionItem.event_id.in_(imp_ids)).order_by(ImpressionItem.event_id, ImpressionItem.position))
            for eid, ext in s.execute(q):
                shown.setdefault(eid, []).append(ext)
    out = [
        EventOut(
            client_event_id=r.Event.client_event_id, type=r.Event.type, user_id=r.user, generation_id=r.gen,
            generation_ids=shown.get(r.Event.id) if r.Event.type == "impression" else None,
            impression_id=r.Event.impression_client_id, value=r.Event.value, payload=r.Event.payload,
            occurred_at=as_utc(r.Event.occurred_at),
            received_at=as_utc(r.Event.received_at),
        )
        for r in rows
    ]
    return out, (rows[-1].Event.id if more and rows else None)


def list_events(store: FeedbackStore, app: AppRef, after: int = 0, limit: int = 100,
                type: str | None = None, user_id: str | None = None) -> EventPage:
    """The app's events in storage order, ``limit`` at a time after cursor ``after``."""
    where = [Event.id > after]
    if type is not None:
        where.append(Event.type == type)
    if user_id is not None:
        where.append(User.external_id == user_id)
    events, next_after = _page(store, app, where, limit)
    return EventPage(events=events, next_after=next_after)


def get_event(store: FeedbackStore, app: AppRef, client_event_id: str) -> EventOut:
    events, _ = _page(store, app, [Event.client_event_id == client_event_id], 1)
    if not events:
        raise NotFound("unknown_event", f"no event {client_event_id!r} in app {app.name!r}.")
    return events[0]
