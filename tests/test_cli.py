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


def test_import_check_reads_every_file_whole_and_names_what_it_refuses(tmp_path):
    d = tmp_path / "import"
    d.mkdir()
    good = {"platform": "x", "id": "1", "author_id": "a", "text": "ok", "created_at": "2025-01-01T10:00:00Z"}
    later = {**good, "id": "2", "created_at": "2027-06-01T10:00:00+02:00"}
    (d / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(later) + "\n{not json\n")
    (d / "export.csv").write_text("id;texte\n1;bonjour\n")  # no mapping beside it
    res = _cli("import", "check", str(d), tmp_path=tmp_path)
    assert res.returncode == 1
    assert "a.jsonl: 2 posts, 1 refused (json 1)" in res.stdout   # posts of any day are read
    assert "a.jsonl:3: not valid JSON" in res.stdout
    assert "export.csv: 0 posts, 1 refused (csv_no_mapping 1)" in res.stdout
    (d / "a.jsonl").write_text(json.dumps(good) + "\n")
    (d / "export.csv").unlink()
    assert _cli("import", "check", str(d), tmp_path=tmp_path).returncode == 0
