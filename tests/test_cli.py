"""The commands users and other tools rely on: `python -m listening …`."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, SAMPLE_IMPORT, env_for


def _cli(*args, stdin: str = "", tmp_path=None) -> subprocess.CompletedProcess:
    env = env_for(tmp_path or REPO / "lake", SAMPLE_IMPORT)
    return subprocess.run([sys.executable, "-m", "listening", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=REPO)


def test_sentiment_reads_lines_and_writes_json_lines(tmp_path):
    res = _cli("sentiment", "--lang", "fr", stdin="Bravo, excellent travail !\nQuelle honte, c'est inacceptable\n",
               tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert all(-1 <= r["score"] <= 1 and 0 <= r["confidence"] <= 1 and r["engine"].startswith("vigie-blend-fr")
               for r in rows)


def test_sentiment_english_is_vader(tmp_path):
    res = _cli("sentiment", "--lang", "en", stdin="What a great session\n", tmp_path=tmp_path)
    row = json.loads(res.stdout)
    assert row["label"] == "positive" and row["engine"].startswith("vader-") and row["confidence"] > 0.5


def test_sentiment_dutch_is_the_lexicon(tmp_path):
    res = _cli("sentiment", "--lang", "nl", stdin="Wat een schande\n", tmp_path=tmp_path)
    row = json.loads(res.stdout)
    assert row["label"] == "negative" and row["engine"].startswith("vigie-lexicon-nl") and "confidence" in row


def test_sentiment_unknown_language_says_so(tmp_path):
    res = _cli("sentiment", "--lang", "it", stdin="Che bello\n", tmp_path=tmp_path)
    assert res.returncode == 2
    row = json.loads(res.stdout)
    assert row["score"] is None and row["confidence"] is None
    assert "no sentiment engine reads 'it'" in res.stderr


def test_schema_command_prints_the_dictionary(tmp_path):
    res = _cli("schema", "--markdown", tmp_path=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("# Data dictionary")
