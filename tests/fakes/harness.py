"""What every collector test needs: a config with a sources.yml, a client that doesn't sleep,
and the lines a run landed."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from listening import collect
from listening.config import load_config
from listening.sources.http import Client

REPO = Path(__file__).resolve().parents[2]


def config_with(tmp_path: Path, sources: dict):
    """The repository's config, plus a sources.yml holding `sources`."""
    d = tmp_path / "config"
    if not d.exists():
        shutil.copytree(REPO / "include" / "config", d)
    (d / "sources.yml").write_text(yaml.safe_dump(sources, sort_keys=False))
    return load_config(d)


class Sleeps(list):
    """A `sleep` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(secrets=(), timeout: float = 2.0, **kw) -> Client:
    return Client(secrets=list(secrets), timeout=timeout, sleep=kw.pop("sleep", Sleeps()), **kw)


def run(source: str, topic: str, config, lake: Path, now, creds=None, cl: Client | None = None) -> dict:
    options = collect.load_sources(config.config_dir, config)[source]
    return collect.run_job(source, topic, config=config, options=options, creds=creds, lake=lake,
                           now=now, client=cl or client(creds.secrets() if creds else ()),
                           use_connection=False)


def landed(lake: Path, source: str) -> list[dict]:
    """Every line the collectors landed for `source`, oldest file first."""
    out = []
    for p in sorted((Path(lake) / collect.LANDING).glob(f"source={source}/dt=*/*.jsonl"),
                    key=lambda p: p.name):
        out += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
    return out


def quarantined(lake: Path, source: str) -> list[dict]:
    out = []
    for p in sorted((Path(lake) / collect.LANDING / "_quarantine").glob(f"source={source}/dt=*/*.jsonl")):
        out += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
    return out


def everything(lake: Path) -> str:
    """All text under the lake (landing, quarantine, cursors), to look for leaked secrets."""
    return "\n".join(p.read_text(errors="replace") for p in Path(lake).rglob("*") if p.is_file())
