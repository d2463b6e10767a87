"""The page's feedback: ``POST /page/events`` and ``GET /page/generations/{id}/image``, by session cookie.

Events take the public schema of ``POST /v1/events`` and go through the same ingest
(``feedback.events.ingest_events``: atomic, idempotent by ``client_event_id``), into
the built-in app, after ``ownership.check_page_events``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from diffusion_dro.feedback.api.deps import IdPath, SettingsDep, StoreDep
from diffusion_dro.feedback.errors import TooLarge
from diffusion_dro.feedback.events import ingest_events
from diffusion_dro.feedback.schemas import BatchAck, ErrorResponse, EventBatch
from diffusion_dro.serve.deps import PageAppDep, PageUserDep
from diffusion_dro.serve.ownership import check_owned, check_page_events

router = APIRouter(prefix="/page", tags=["page"], responses={
    401: {"model": ErrorResponse, "description": "No page session (`no_session`)."},
    403: {"model": ErrorResponse, "description": "Another user's id, event id or generation."},
})


@router.post("/events", response_model=BatchAck)
def page_events(body: EventBatch, user: PageUserDep, app: PageAppDep, store: StoreDep,
                settings: SettingsDep) -> BatchAck:
    """Record the page's events (impression, pick, download, regenerate, dwell, ...) for the session's user."""
    if len(body.events) > settings.max_batch:
        raise TooLarge("batch_too_large", f"{len(body.events)} events in one request; the limit is "
                       f"{settings.max_batch}. Split the batch.")
    check_page_events(store, app, user, body.events)
    return ingest_events(store, app, body.events)


@router.get("/generations/{generation_id}/image", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}}, 404: {"model": ErrorResponse}})
def page_image(generation_id: IdPath, user: PageUserDep, app: PageAppDep, store: StoreDep,
               download: bool = False) -> FileResponse:
    """One of the session's images; ``?download=true`` answers it as an attachment."""
    check_owned(store, app, user, generation_id)
    path = store.image_path(app, generation_id)
    return FileResponse(path, filename=f"{generation_id}{path.suffix}" if download else None,
                        headers={"Cache-Control": "private, max-age=86400"})

