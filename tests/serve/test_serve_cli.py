"""``dro serve``: flags map 1:1 onto ServeAppConfig, errors name the flag, and the real command serves the page."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from diffusion_dro.cli.main import main, parse
from diffusion_dro.feedback.commands import ServeConfig
from diffusion_dro.serve import ServeAppConfig

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_every_flag_reaches_the_config():
    _, cfg, _ = parse(["serve", "--model", "toy", "--adapter", "lora", "--data-root", "d", "--database-url",
                       "sqlite:///x.db", "--host", "0.0.0.0", "--port", "9001", "--api-only", "--steps", "8",
                       "--device", "cpu", "--app-name", "site", "--guidance_scale", "5", "--max_waiting", "2"])
    assert isinstance(cfg, ServeAppConfig)
    assert (cfg.model, cfg.adapter, cfg.data_root, cfg.database_url, cfg.host, cfg.port, cfg.api_only) == (
        "toy", "lora", "d", "sqlite:///x.db", "0.0.0.0", 9001, True)
    assert (cfg.steps, cfg.device, cfg.app_name, cfg.guidance_scale, cfg.max_waiting) == (8, "cpu", "site", 5.0, 2)
    assert cfg.address == "http://0.0.0.0:9001/"
    # `dro serve` takes every option of `dro feedback serve` (its --api-only mode is that command).
    assert {f.name for f in dataclasses.fields(ServeConfig)} <= {f.name for f in dataclasses.fields(ServeAppConfig)}


@pytest.mark.parametrize("flags, needle", [
    (["--steps", "0"], "--steps must be in 1..100"),
    (["--steps", "101"], "--steps must be in 1..100"),
    (["--guidance_scale", "-1"], "--guidance_scale must be in [0, 30.0]"),
    (["--scheduler", "dpm"], "--scheduler 'dpm' is unknown"),
    (["--port", "0"], "--port must be in 1..65535"),
    (["--app_name", "My Site"], "--app_name 'My Site' must be"),
    (["--max_waiting", "-1"], "--max_waiting must be >= 0"),
    (["--database_url", "feedback.db"], "--database_url 'feedback.db' is not a URL"),
])
def test_bad_flags_fail_before_anything_loads(flags, needle, capsys):
    assert main(["serve", *flags]) == 2
    assert needle in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dro_serve_prints_its_address_and_serves_the_page(tmp_path):
    port = free_port()
    env = os.environ | {"PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "diffusion_dro.cli.main", "serve", "--port", str(port), "--steps", "2",
           "--data_root", str(tmp_path / "store")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "dro serve: open http" in line:
                break
        assert f"http://127.0.0.1:{port}/" in "".join(lines), "".join(lines)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as web:
            for _ in range(100):  # the address is printed once the model is loaded, just before uvicorn binds
                try:
                    page = web.get("/")
                    break
                except httpx.ConnectError:
                    time.sleep(0.05)
            assert page.status_code == 200
            web.post("/page/session").raise_for_status()
            r = web.post("/page/generate", json={"prompt": "a small red circle", "num_images": 1})
            assert r.status_code == 200, r.text
            assert web.get(r.json()["images"][0]["image_url"]).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    assert (tmp_path / "store" / "feedback.db").is_file()
    assert (tmp_path / "store" / "serve-session.key").stat().st_mode & 0o077 == 0  # the secret is the owner's alone
