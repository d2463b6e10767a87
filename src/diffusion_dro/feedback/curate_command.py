"""``dro curate``: events in the store -> expert set, preference pairs and binary labels.

Writes under ``out_dir``:

- ``expert/``: the top images and ``metadata.jsonl`` (``file_name, prompt, score, source``),
  an ``imagefolder`` dataset for DRO and SFT (written atomically);
- ``images/``: every image the pairs and labels refer to, by content hash;
- ``pairs.jsonl``: ``{"prompt", "chosen", "rejected", "user", "source"}``, picked vs each
  image shown with it but not picked (DPO);
- ``labels.jsonl``: ``{"file_name", "prompt", "label", "score"}``, ``label`` true when the
  score is above ``label_margin``, false when below minus it (KTO);
- ``scores.jsonl`` (every scored image) and ``summary.json`` (config and counts).

With ``--from_folder`` the expert set is built from a folder of captioned images instead.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import aliased

from diffusion_dro.data.expert_set import ExpertItem, write_expert_set
from diffusion_dro.errors import InputError
from diffusion_dro.feedback.curate import CurationWeights, EventRecord, evidence, kept, scores
from diffusion_dro.feedback.settings import StoreOptions

__all__ = ["CurateConfig", "run_curate", "curate_store"]


@dataclass(kw_only=True)
class CurateConfig(CurationWeights, StoreOptions):
    out_dir: str = field(metadata={"help": "Output folder (expert/, pairs.jsonl, labels.jsonl, ...)."})
    from_folder: str | None = field(
        default=None, metadata={"help": "Build the expert set from this folder of captioned favourite images instead."}
    )
    app: str | None = field(default=None, metadata={"help": "Only this app's events (default: every app)."})
    user: str | None = field(default=None, metadata={"help": "Only this user's events: a personal-taste set."})
    since: str | None = field(default=None, metadata={"help": "Only events at or after this ISO time."})
    until: str | None = field(default=None, metadata={"help": "Only events before this ISO time."})
    min_evidence: int = field(default=2, metadata={"help": "Least number of events that must touch an image."})
    top_fraction: float = field(default=0.25, metadata={"help": "Share of scored images put in the expert set."})
    top_k: int | None = field(default=None, metadata={"help": "Exact expert-set size; overrides top_fraction."})
    min_score: float = field(default=0.0, metadata={"help": "Expert images must score above this."})
    kept_only: bool = field(default=False, metadata={
        "help": "Experts only from images some user downloaded or shared (the strongest implicit 'keep'); "
                "top_fraction / top_k still cap the count, so where users keep little the set is smaller and purer."})
    max_per_prompt: int | None = field(default=None, metadata={"help": "Most expert images per prompt."})
    label_margin: float = field(default=0.0, metadata={"help": "KTO labels: |score| must exceed this."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing out_dir."})

    def __post_init__(self) -> None:
        StoreOptions.__post_init__(self)
        CurationWeights.__post_init__(self)
        if not 0 < self.top_fraction <= 1:
            raise InputError(f"--top_fraction must be in (0, 1], got {self.top_fraction}.")
        if self.min_evidence < 1:
            raise InputError(f"--min_evidence must be >= 1, got {self.min_evidence}.")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                try:
                    datetime.fromisoformat(value)
                except ValueError as e:
                    raise InputError(f"--{name} {value!r} is not an ISO time; e.g. 2026-01-31 or 2026-01-31T12:00:00+00:00.") from e

    @property
    def weights(self) -> CurationWeights:
        return CurationWeights(**{f: getattr(self, f) for f in CurationWeights.__dataclass_fields__})


def _time(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _load(cfg: CurateConfig, store) -> tuple[list[EventRecord], dict[str, list[str]], dict[str, dict]]:
    """Events passing the filters, impressions' shown sets, and the generations they touch (keyed app/id)."""
    from diffusion_dro.feedback.models import App, Event, Generation, ImpressionItem, User

    gen = aliased(Generation)
    q = (select(Event, User.external_id.label("user"), gen.external_id.label("gen"), App.name.label("app"))
         .join(User, User.id == Event.user_id).join(App, App.id == Event.app_id)
         .outerjoin(gen, gen.id == Event.generation_id).order_by(Event.id))
    if cfg.app is not None:
        q = q.where(App.name == store.app(cfg.app).name)
    if cfg.user is not None:
        q = q.where(User.external_id == cfg.user)
    if cfg.since is not None:
        q = q.where(Event.occurred_at >= _time(cfg.since))
    if cfg.until is not None:
        q = q.where(Event.occurred_at < _time(cfg.until))
    key = lambda app, ext: f"{app}/{ext}"  # noqa: E731  ids are unique per app only
    with store.sessions() as s:
        rows = s.execute(q).all()
        records = [EventRecord(key(r.app, r.Event.client_event_id), r.Event.type, key(r.app, r.user),
                               key(r.app, r.gen) if r.gen else None,
                               key(r.app, r.Event.impression_client_id) if r.Event.impression_client_id else None,
                               r.Event.value) for r in rows]
        wanted = {r.Event.impression_client_id for r in rows if r.Event.impression_client_id} | {
            r.Event.client_event_id for r in rows if r.Event.type == "impression"}
        shown: dict[str, list[str]] = {}
        iq = (select(App.name, Event.client_event_id, Generation.external_id)
              .join(ImpressionItem, ImpressionItem.event_id == Event.id)
              .join(Generation, Generation.id == ImpressionItem.generation_id).join(App, App.id == Event.app_id)
              .where(Event.type == "impression", Event.client_event_id.in_(wanted))
              .order_by(Event.id, ImpressionItem.position))
        for app, cid, ext in s.execute(iq) if wanted else []:
            shown.setdefault(key(app, cid), []).append(key(app, ext))
        gens = {}
        gq = select(App.name, Generation).join(App, App.id == Generation.app_id)
        if cfg.app is not None:
            gq = gq.where(App.name == cfg.app)
        for app, g in s.execute(gq):
            path = store.images.path(g.image_sha256, g.image_suffix) if g.image_sha256 else None
            gens[key(app, g.external_id)] = {"prompt": g.prompt, "path": path,
                                             "file": f"{g.image_sha256}{g.image_suffix}" if path else None}
    return records, shown, gens


def curate_store(cfg: CurateConfig, store) -> dict:
    """Curate from an open ``FeedbackStore``; return the summary also written to ``summary.json``."""
    records, shown, gens = _load(cfg, store)
    if not records:
        raise InputError(f"no events match app={cfg.app!r} user={cfg.user!r} since={cfg.since!r} until={cfg.until!r}; "
                         "loosen the filters or check `dro feedback stats`.")
    w = cfg.weights
    scored = scores(evidence(records, shown, w), {g: v["prompt"] for g, v in gens.items()}, w, cfg.min_evidence)
    ranked = sorted(scored.values(), key=lambda s: -s.score)
    with_file = [s for s in ranked if gens[s.generation]["path"] is not None]
    size = cfg.top_k if cfg.top_k is not None else max(1, round(cfg.top_fraction * len(with_file)))
    keeps = kept(records)
    expert, per_prompt, files = [], {}, set()
    for s in with_file:
        prompt = gens[s.generation]["prompt"]
        if len(expert) >= size or s.score <= cfg.min_score:
            break
        if cfg.kept_only and s.generation not in keeps:
            continue
        if cfg.max_per_prompt is not None and per_prompt.get(prompt, 0) >= cfg.max_per_prompt:
            continue
        if gens[s.generation]["file"] in files:  # the same bytes under another generation id: keep the best once
            continue
        files.add(gens[s.generation]["file"])
        per_prompt[prompt] = per_prompt.get(prompt, 0) + 1
        g = gens[s.generation]
        expert.append(ExpertItem(g["path"], prompt, round(s.score, 6), f"feedback:{s.generation}", g["file"]))
    if not expert:
        kept_note = f", {len(keeps)} downloaded or shared (--kept_only)" if cfg.kept_only else ""
        raise InputError(f"no image scored above --min_score {cfg.min_score} with >= {cfg.min_evidence} events and an "
                         f"uploaded image ({len(scored)} scored, {len(with_file)} with files{kept_note}); lower the "
                         "thresholds" + (" or drop --kept_only." if cfg.kept_only else "."))
    out = Path(cfg.out_dir)
    if out.exists() and not cfg.overwrite:
        raise InputError(f"--out_dir {cfg.out_dir!r} exists; choose a new folder or pass --overwrite.")
    out.mkdir(parents=True, exist_ok=True)
    write_expert_set(out / "expert", expert, overwrite=True)
    images = out / "images"
    images.mkdir(exist_ok=True)

    def ref(g: str) -> str:
        target = images / gens[g]["file"]
        if not target.exists():
            shutil.copyfile(gens[g]["path"], target)
        return f"images/{gens[g]['file']}"

    pairs = []
    for e in records:
        group = shown.get(e.impression_id or "", [])
        if e.type != "pick" or e.generation not in group or gens[e.generation]["path"] is None:
            continue
        for other in group:
            if other != e.generation and gens[other]["path"] is not None:
                pairs.append({"prompt": gens[e.generation]["prompt"], "chosen": ref(e.generation), "rejected": ref(other),
                              "user": e.user, "source": f"feedback:{e.client_event_id}"})
    labels = [{"file_name": ref(s.generation), "prompt": gens[s.generation]["prompt"], "label": s.score > 0,
               "score": round(s.score, 6)} for s in with_file if abs(s.score) > cfg.label_margin]
    for name, rows in (("pairs.jsonl", pairs), ("labels.jsonl", labels),
                       ("scores.jsonl", [dict(asdict(s), prompt=gens[s.generation]["prompt"]) for s in ranked])):
        (out / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = {"config": asdict(cfg), "events": len(records), "scored_images": len(scored),
               "images_with_file": len(with_file), "kept_images": len(keeps), "expert": len(expert),
               "pairs": len(pairs), "labels": len(labels)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def run_curate(cfg: CurateConfig) -> dict:
    if cfg.from_folder is not None:
        from diffusion_dro.feedback.folder import expert_set_from_folder

        out = expert_set_from_folder(cfg.from_folder, Path(cfg.out_dir) / "expert", overwrite=cfg.overwrite)
        print(f"expert set from {cfg.from_folder}: {out}")
        return {"expert_dir": str(out)}
    from diffusion_dro.feedback.store import FeedbackStore

    store = FeedbackStore(cfg)
    try:
        summary = curate_store(cfg, store)
    finally:
        store.close()
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}))
    return summary
