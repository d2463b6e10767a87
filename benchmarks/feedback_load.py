"""Load benchmark of the feedback ingest API on loopback: events/s and request latency.

Starts the real server (``dro feedback serve``, uvicorn, one process) on 127.0.0.1 for
each backend (SQLite WAL under a temp folder; a throwaway PostgreSQL cluster with fsync
on when its binaries are installed), then for each mode runs ``--clients`` threads that
POST /v1/events for ``--seconds``: ``single`` sends one event per request, ``batch``
sends ``--batch`` events per request. Prints a Markdown table and writes JSON.

    PYTHONPATH=src python benchmarks/feedback_load.py --seconds 8 --out runs/feedback_load.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from diffusion_dro.feedback.settings import StoreOptions
from diffusion_dro.feedback.store import FeedbackStore
from diffusion_dro.feedback.throwaway_pg import ThrowawayPostgres, find_bin, free_port

SRC = Path(__file__).resolve().parents[1] / "src"


def serve(root: str, url: str | None, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "diffusion_dro.cli.main", "feedback", "serve", "--data_root", root, "--port", str(port)]
    if url:
        cmd += ["--database_url", url]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(SRC)})
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to tell work done from time spent waiting for a core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(base: str, key: str, batch: int, clients: int, seconds: float, pid: int) -> dict:
    ids = itertools.count()
    latencies: list[float] = []
    events = 0
    lock, stop = threading.Lock(), threading.Event()

    def worker(w: int) -> None:
        nonlocal events
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as c:
            while not stop.is_set():
                body = {"events": [{"type": "impression", "client_event_id": f"{batch}-{next(ids)}", "user_id": f"u{w}",
                                    "generation_ids": ["g0"]} for _ in range(batch)]}
                t = time.perf_counter()
                r = c.post("/v1/events", json=body)
                dt = time.perf_counter() - t
                r.raise_for_status()
                with lock:
                    latencies.append(dt)
                    events += r.json()["accepted"]

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    t0, cpu0 = time.perf_counter(), cpu_seconds(pid)
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    lat = np.array(latencies) * 1000
    return {"batch": batch, "clients": clients, "requests": len(lat), "events": events, "events_per_s": events / elapsed,
            "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "server_cpu_ms_per_request": 1000 * cpu / max(len(lat), 1), "events_per_server_cpu_s": events / max(cpu, 1e-9)}


def run_backend(name: str, url: str | None, args: argparse.Namespace) -> list[dict]:
    root = tempfile.mkdtemp(prefix=f"dro-bench-{name}-")
    store = FeedbackStore(StoreOptions(data_root=root, database_url=url))
    key = store.create_app("bench")
    from diffusion_dro.feedback.schemas import GenerationIn

    store.add_generations(store.authenticate(key), [GenerationIn(generation_id="g0", prompt="p", model="toy")])
    store.close()
    port = free_port()
    proc = serve(root, url, port)
    try:
        rows = []
        for mode, batch in (("single", 1), ("batch", args.batch)):
            r = load(f"http://127.0.0.1:{port}", key, batch, args.clients, args.seconds, proc.pid)
            rows.append({"backend": name, "mode": mode, **r})
            print(json.dumps(rows[-1]), flush=True)
        return rows
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="Duration of each mode per backend.")
    p.add_argument("--clients", type=int, default=4, help="Concurrent client threads.")
    p.add_argument("--batch", type=int, default=100, help="Events per request in batch mode.")
    p.add_argument("--backends", default="sqlite,postgresql", help="Comma-separated: sqlite, postgresql.")
    p.add_argument("--out", default=None, help="Write the results as JSON here.")
    args = p.parse_args()
    rows = []
    for name in args.backends.split(","):
        if name == "sqlite":
            rows += run_backend("sqlite", None, args)
        elif name == "postgresql":
            bin_dir = find_bin()
            if bin_dir is None:
                print("postgresql: skipped (no /usr/lib/postgresql/*/bin; run .ci/postgres.sh)")
                continue
            with ThrowawayPostgres(bin_dir, fsync=True) as pg:
                rows += run_backend("postgresql", pg.url("postgres"), args)
        else:
            raise SystemExit(f"--backends: unknown backend {name!r}; use sqlite and/or postgresql")
    print("\n| backend | mode | events/request | clients | events/s | p50 ms | p99 ms | server CPU ms/request "
          "| events per server CPU-s |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['mode']} | {r['batch']} | {r['clients']} | {r['events_per_s']:.0f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['server_cpu_ms_per_request']:.1f} | "
              f"{r['events_per_server_cpu_s']:.0f} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
