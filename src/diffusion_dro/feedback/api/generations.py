"""``/v1/generations``: register generations, upload and read their images."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from diffusion_dro.feedback.api.deps import AppDep, IdPath, SettingsDep, StoreDep
from diffusion_dro.feedback.api.responses import ERRORS
from diffusion_dro.feedback.errors import TooLarge, Unprocessable
from diffusion_dro.feedback.schemas import BatchAck, GenerationBatch, GenerationOut, ImageAck

router = APIRouter(prefix="/v1/generations", tags=["generations"], responses=ERRORS)

IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/png", "image/jpeg", "image/webp")},
    }
}


@router.post("", response_model=BatchAck)
def register_generations(body: GenerationBatch, app: AppDep, store: StoreDep, settings: SettingsDep) -> BatchAck:
    """Register up to ``max_batch`` generations; an id registered before is acknowledged as ``duplicate``."""
    if len(body.generations) > settings.max_batch:
        raise TooLarge("batch_too_large", f"{len(body.generations)} generations in one request; the limit is "
                       f"{settings.max_batch}. Split the batch.")
    acks = store.add_generations(app, body.generations)
    accepted = sum(a.status == "accepted" for a in acks)
    return BatchAck(accepted=accepted, duplicates=len(acks) - accepted, results=acks)


@router.get("/{generation_id}", response_model=GenerationOut)
def read_generation(generation_id: IdPath, app: AppDep, store: StoreDep) -> GenerationOut:
    return store.get_generation(app, generation_id)


@router.put("/{generation_id}/image", response_model=ImageAck, openapi_extra=IMAGE_BODY)
async def upload_image(generation_id: IdPath, request: Request, app: AppDep, store: StoreDep) -> ImageAck:
    """Upload the image bytes (PNG, JPEG or WebP) of a registered generation; stored by content hash."""
    data = await request.body()
    if not data:
        raise Unprocessable("empty_image", "the request body is empty; send the image bytes as the body.")
    return await run_in_threadpool(store.set_image, app, generation_id, data)


@router.get("/{generation_id}/image", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}})
def read_image(generation_id: IdPath, app: AppDep, store: StoreDep) -> FileResponse:
    return FileResponse(store.image_path(app, generation_id))
