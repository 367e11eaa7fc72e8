"""Pseudonymisation: a keyed hash of the author, stable across runs, not reversible without the key."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from listening.privacy import KEY_ENV, author_key, load_key

REPO = Path(__file__).resolve().parents[1]


def test_same_author_same_pseudonym_across_calls(tmp_path):
    k1 = load_key(tmp_path)
    k2 = load_key(tmp_path)
    assert k1 == k2
    assert author_key(k1, "mastodon", "109876") == author_key(k2, "mastodon", "109876")


def test_pseudonym_does_not_show_the_id(tmp_path):
    k = load_key(tmp_path)
    p = author_key(k, "mastodon", "109876")
    assert "109876" not in p and len(p) == 20
    assert all(c in "0123456789abcdef" for c in p)


def test_different_authors_and_platforms_differ(tmp_path):
    k = load_key(tmp_path)
    assert author_key(k, "mastodon", "1") != author_key(k, "mastodon", "2")
    assert author_key(k, "mastodon", "1") != author_key(k, "bluesky", "1")


def test_different_key_gives_a_different_pseudonym(tmp_path):
    a, b = load_key(tmp_path / "lake-a"), load_key(tmp_path / "lake-b")
    assert a != b
    assert author_key(a, "mastodon", "109876") != author_key(b, "mastodon", "109876")


def test_key_file_is_private(tmp_path):
    load_key(tmp_path)
    path = tmp_path / "_secrets" / "pseudonym.key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 32
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]  # no temp file left


def test_same_pseudonym_in_a_new_process(tmp_path):
    here = author_key(load_key(tmp_path), "mastodon", "109876")
    code = ("import sys; from pathlib import Path; from listening.privacy import load_key, author_key; "
            "print(author_key(load_key(Path(sys.argv[1])), 'mastodon', '109876'))")
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env["PYTHONPATH"] = str(REPO / "plugins")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         env=env, check=True, timeout=60)
    assert out.stdout.strip() == here


def test_environment_key_wins(tmp_path, monkeypatch):
    file_key = load_key(tmp_path)
    monkeypatch.setenv(KEY_ENV, "a-key-from-the-vault")
    assert load_key(tmp_path) == b"a-key-from-the-vault"
    assert author_key(load_key(tmp_path), "x", "1") != author_key(file_key, "x", "1")
    # and the key file is not replaced by it
    monkeypatch.delenv(KEY_ENV)
    assert load_key(tmp_path) == file_key


def test_environment_key_creates_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "k")
    load_key(tmp_path)
    assert not (tmp_path / "_secrets").exists()


@pytest.mark.parametrize("text,masked,kinds", [
    ("Écrivez à jean.dupont@example.be svp", "Écrivez à [email] svp", ["email"]),
    ("Contact: info@parlement.brussels, @parlbxl@mastodon.brussels", "Contact: [email], @parlbxl@mastodon.brussels",
     ["email"]),
    ("Bel me op 0470 12 34 56 of +32 2 549 62 11", "Bel me op [phone] of [phone]", ["phone"]),
    ("Ruf an: 0032 470/12.34.56!", "Ruf an: [phone]!", ["phone"]),
    ("Stort op BE68 5390 0754 7034 aub", "Stort op [iban] aub", ["iban"]),
    ("IBAN DE89370400440532013000 und 0478123456", "IBAN [iban] und [phone]", ["iban", "phone"]),
])
def test_personal_data_in_texts_is_masked(text, masked, kinds):
    from listening.privacy import mask_personal

    assert mask_personal(text) == (masked, kinds)


@pytest.mark.parametrize("text", [
    "Séance du 02.11.2026 à 14:30, budget de 1 234 567 euros pour 2027",
    "Zie https://www.parlement.brussels/doc/0470123456 en post x:2117044925269803008",
    "Pas un IBAN: BE00 1234 5678 9012 (mauvaise clé)",
    "@parlbxl@mastodon.brussels et @parlbxl.bsky.social",
    "Ordonnance 2026/0123-45, article 12.3.4",
])
def test_dates_amounts_links_ids_and_handles_are_not_masked(text):
    from listening.privacy import mask_personal

    assert mask_personal(text) == (text, [])


def test_key_from_an_airflow_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_VIGIE_PSEUDONYM_KEY", "a-key-kept-in-a-secrets-backend")
    assert load_key(tmp_path) == b"a-key-kept-in-a-secrets-backend"
    assert not (tmp_path / "_secrets").exists()
