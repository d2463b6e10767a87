"""Crash durability: SIGKILL a real server under load; every acknowledged event survives exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from diffusion_dro.feedback.settings import StoreOptions
from diffusion_dro.feedback.store import FeedbackStore
from diffusion_dro.feedback.throwaway_pg import free_port


def start_server(root: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "diffusion_dro.cli.main", "feedback", "serve", "--data_root", str(root),
           "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not answer /health within 60 s")


def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path):
    root = tmp_path / "store"
    store = FeedbackStore(StoreOptions(data_root=str(root)))
    key = store.create_app("crash")
    store.close()
    port = free_port()
    proc = start_server(root, port)
    headers = {"X-API-Key": key}
    base = f"http://127.0.0.1:{port}"
    httpx.post(f"{base}/v1/generations", headers=headers, timeout=10,
               json={"generations": [{"generation_id": "g0", "prompt": "a small red circle", "model": "toy"}]})
    acked: set[str] = set()
    unknown: list[list[dict]] = []  # batches in flight when the server died: outcome unknown
    lock, stop = threading.Lock(), threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            n = 0
            while not stop.is_set():
                batch = [{"type": "impression", "client_event_id": f"w{worker}-{n}-{i}", "user_id": f"u{worker}",
                          "generation_ids": ["g0"]} for i in range(5)]
                n += 1
                try:
                    r = c.post("/v1/events", json={"events": batch})
                except httpx.TransportError:
                    unknown.append(batch)
                    return
                assert r.status_code == 200, r.text
                with lock:
                    acked.update(x["id"] for x in r.json()["results"])

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 20, f"too little load before the kill ({len(acked)} acknowledged events)"

    proc = start_server(root, port)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            for batch in unknown:  # the client's retry of what it never saw acknowledged
                assert c.post("/v1/events", json={"events": batch}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    with sqlite3.connect(root / "feedback.db") as db:
        counts = dict(db.execute("select client_event_id, count(*) from events group by client_event_id"))
    missing = acked - set(counts)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert all(n == 1 for n in counts.values())
    retried = {e["client_event_id"] for b in unknown for e in b}
    assert set(counts) == acked | retried
    print(f"acknowledged before SIGKILL: {len(acked)}; in flight and retried: {len(retried)}; stored: {len(counts)}")
