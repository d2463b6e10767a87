"""``/v1/events``: batch ingest (idempotent by ``client_event_id``) and reads of the app's own events."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from diffusion_dro.feedback.api.deps import AppDep, IdPath, SettingsDep, StoreDep
from diffusion_dro.feedback.api.responses import ERRORS
from diffusion_dro.feedback.errors import TooLarge
from diffusion_dro.feedback.events import get_event, ingest_events, list_events
from diffusion_dro.feedback.schemas import BatchAck, ErrorResponse, EventBatch, EventOut, EventPage

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERRORS)
EventType = Literal["impression", "pick", "download", "share", "regenerate", "dwell", "rating", "edit"]


@router.post("", response_model=BatchAck, responses={422: {"model": ErrorResponse,
             "description": "Invalid event, or one referring to an unregistered generation."}})
def ingest(body: EventBatch, app: AppDep, store: StoreDep, settings: SettingsDep) -> BatchAck:
    """Store a batch of events atomically. The response is sent only after the batch has committed;
    a ``client_event_id`` stored before is acknowledged as ``duplicate`` and not stored again."""
    if len(body.events) > settings.max_batch:
        raise TooLarge("batch_too_large", f"{len(body.events)} events in one request; the limit is "
                       f"{settings.max_batch}. Split the batch.")
    return ingest_events(store, app, body.events)


@router.get("", response_model=EventPage)
def read_events(
    app: AppDep,
    store: StoreDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Cursor: `next_after` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: EventType | None = None,
    user_id: Annotated[str | None, Query(max_length=128)] = None,
) -> EventPage:
    return list_events(store, app, after=after, limit=limit, type=type, user_id=user_id)


@router.get("/{client_event_id}", response_model=EventOut)
def read_event(client_event_id: IdPath, app: AppDep, store: StoreDep) -> EventOut:
    return get_event(store, app, client_event_id)
