"""Pydantic schemas of the ingest API (request and response bodies), apart from the ORM models.

Events are a union discriminated by ``type``; each kind carries exactly the fields
it needs and rejects others (``extra="forbid"``), so a misspelt field is a 422,
not silently dropped data. Ids are client-chosen strings of letters, digits and
``._:-`` (at most 128); the store scopes them per app.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
Text = Annotated[str, Field(max_length=2000)]
MAX_SHOWN = 64


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerationIn(Strict):
    """How one image was generated. ``image_uri`` is an external reference, never read as a path."""

    generation_id: Id
    user_id: Id | None = None
    prompt: Annotated[str, Field(min_length=1, max_length=2000)]
    negative_prompt: Text = ""
    model: Annotated[str, Field(min_length=1, max_length=256)]
    adapter: Annotated[str, Field(max_length=256)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    steps: Annotated[int, Field(ge=1, le=10_000)] | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=100)] | None = None
    width: Annotated[int, Field(ge=1, le=16_384)] | None = None
    height: Annotated[int, Field(ge=1, le=16_384)] | None = None
    image_uri: Annotated[str, Field(max_length=2048)] | None = None
    created_at: datetime | None = None


class GenerationBatch(Strict):
    generations: Annotated[list[GenerationIn], Field(min_length=1)]


class GenerationOut(BaseModel):
    generation_id: str
    user_id: str | None
    prompt: str
    negative_prompt: str
    model: str
    adapter: str | None
    seed: int | None
    steps: int | None
    cfg_scale: float | None
    width: int | None
    height: int | None
    image_sha256: str | None
    image_uri: str | None
    created_at: datetime


class _EventBase(Strict):
    client_event_id: Id
    user_id: Id
    occurred_at: datetime | None = Field(default=None, description="When it happened; default: when received.")


class Impression(_EventBase):
    """A set of generations shown together, in display order."""

    type: Literal["impression"]
    generation_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_SHOWN)]

    @model_validator(mode="after")
    def _distinct(self) -> Impression:
        if len(set(self.generation_ids)) != len(self.generation_ids):
            raise ValueError("generation_ids must be distinct: an impression shows each generation once")
        return self


class Pick(_EventBase):
    """One generation chosen among the set shown by impression ``impression_id``."""

    type: Literal["pick"]
    generation_id: Id
    impression_id: Id


class Download(_EventBase):
    type: Literal["download"]
    generation_id: Id
    impression_id: Id | None = None


class Share(_EventBase):
    type: Literal["share"]
    generation_id: Id
    impression_id: Id | None = None


class Regenerate(_EventBase):
    """The user asked for new images instead: the whole shown set was rejected."""

    type: Literal["regenerate"]
    impression_id: Id


class Dwell(_EventBase):
    """How long a generation was looked at (e.g. opened full size), in milliseconds."""

    type: Literal["dwell"]
    generation_id: Id
    dwell_ms: Annotated[int, Field(ge=0, le=86_400_000)]
    impression_id: Id | None = None


class Rating(_EventBase):
    """An explicit rating from 1 (worst) to 5 (best)."""

    type: Literal["rating"]
    generation_id: Id
    rating: Annotated[float, Field(ge=1, le=5)]


class Region(Strict):
    """A rectangle in image fractions: (x, y) is the top-left corner, all in [0, 1]."""

    x: Annotated[float, Field(ge=0, le=1)]
    y: Annotated[float, Field(ge=0, le=1)]
    width: Annotated[float, Field(gt=0, le=1)]
    height: Annotated[float, Field(gt=0, le=1)]

    @model_validator(mode="after")
    def _inside(self) -> Region:
        if self.x + self.width > 1 + 1e-9 or self.y + self.height > 1 + 1e-9:
            raise ValueError("region must lie inside the image: x + width <= 1 and y + height <= 1")
        return self


class Edit(_EventBase):
    """Inpainting/editing was requested on a region of a generation."""

    type: Literal["edit"]
    generation_id: Id
    region: Region | None = None
    instruction: Text = ""


EventIn = Annotated[
    Impression | Pick | Download | Share | Regenerate | Dwell | Rating | Edit, Field(discriminator="type")
]


class EventBatch(Strict):
    events: Annotated[list[EventIn], Field(min_length=1)]


class Ack(BaseModel):
    """``accepted``: stored now; ``duplicate``: this id was stored before, nothing changed."""

    id: str
    status: Literal["accepted", "duplicate"]


class BatchAck(BaseModel):
    accepted: int
    duplicates: int
    results: list[Ack]


class EventOut(BaseModel):
    client_event_id: str
    type: str
    user_id: str
    generation_id: str | None
    generation_ids: list[str] | None
    impression_id: str | None
    value: float | None
    payload: dict | None
    occurred_at: datetime
    received_at: datetime


class EventPage(BaseModel):
    events: list[EventOut]
    next_after: int | None = Field(description="Pass as `after` to read the next page; null at the end.")


class ImageAck(BaseModel):
    generation_id: str
    image_sha256: str
    bytes: int


class Stats(BaseModel):
    app: str
    users: int
    generations: int
    generations_with_image: int
    events: dict[str, int]


class ErrorBody(BaseModel):
    """Body of every 4xx the API raises itself: a stable ``code`` and a message naming the input and fix."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    detail: ErrorBody
