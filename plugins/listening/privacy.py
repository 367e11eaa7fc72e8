"""Pseudonymisation: analysts' datasets name authors by a keyed hash, never by their id.

The key comes from VIGIE_PSEUDONYM_KEY, or is made once and kept in the lake
(`_secrets/pseudonym.key`, readable by its owner only), so the same author gets the same key
across runs (influence over weeks needs that) while nobody can reverse it without the key.
Rotating the key severs the link with past datasets, which is what an erasure can ask for.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "VIGIE_PSEUDONYM_KEY"


def load_key(lake: Path) -> bytes:
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    path = Path(lake) / "_secrets" / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        os.replace(tmp, path)  # two first runs racing both write a key; one wins, once
    return path.read_text().strip().encode()


def author_key(key: bytes, platform: str, author_id: str) -> str:
    return hmac.new(key, f"{platform}:{author_id}".encode(), hashlib.sha256).hexdigest()[:20]
