"""Watchlists and settings: the shipped config loads, a broken one fails naming file, line and path."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from listening.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "include" / "config"
SHIPPED = (CONFIG / "watchlists.yml").read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing needle."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[nth - 1]


def broken(tmp_path: Path, old: str, new: str, settings: str | None = None) -> tuple[Path, str]:
    """A copy of the shipped config with one edit in watchlists.yml."""
    assert old in SHIPPED, old
    text = SHIPPED.replace(old, new, 1)
    d = tmp_path / "config"
    d.mkdir()
    (d / "watchlists.yml").write_text(text, encoding="utf-8")
    if settings is None:
        shutil.copy(CONFIG / "settings.yml", d / "settings.yml")
    else:
        (d / "settings.yml").write_text(settings, encoding="utf-8")
    return d, text


def error_of(d: Path) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(d)
    return str(e.value)


def test_shipped_config_loads():
    cfg = load_config(CONFIG)
    names = [t.name for t in cfg.watchlists.topics]
    assert names == ["parlement", "budget-2027", "climate-bill", "agora"]
    assert set(cfg.watchlists.teams) == {"communication", "greffe", "campagnes"}
    assert cfg.watchlists.topic("budget-2027").team == "greffe"
    budget = cfg.watchlists.topic("budget-2027")
    assert budget.exclude[0] == "budget participatif"
    assert budget.exclude[1].query.startswith('"participatief budget" OR')
    assert cfg.watchlists.topic("climate-bill").queries[0] == "ordonnance NEAR/3 (climat OR climatique)"
    assert cfg.settings.timezone == "Europe/Brussels"
    assert str(cfg.zone) == "Europe/Brussels"


def test_config_dir_from_env(monkeypatch):
    monkeypatch.setenv("VIGIE_CONFIG_DIR", str(CONFIG))
    assert load_config().config_dir == CONFIG


def test_unknown_team(tmp_path):
    d, text = broken(tmp_path, "team: campagnes", "team: marketing")
    msg = error_of(d)
    line = line_of(text, "team: marketing")
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: topics.3.team: ")
    assert "'marketing'" in msg and "agora" in msg
    assert "campagnes, communication, greffe" in msg  # says which teams exist


def test_duplicated_topic_name(tmp_path):
    d, text = broken(tmp_path, "- name: agora", "- name: climate-bill")
    msg = error_of(d)
    line = line_of(text, "- name: climate-bill", nth=2)
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: topics.3.name: ")
    assert "'climate-bill'" in msg and "twice" in msg


def test_hashtag_without_hash(tmp_path):
    d, text = broken(tmp_path, 'hashtags: ["#BudgetBXL", "#Begroting2027"]',
                     'hashtags: ["budget", "#Begroting2027"]')
    msg = error_of(d)
    line = line_of(text, 'hashtags: ["budget"')
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: topics.1.hashtags: 'budget' is not a hashtag")


def test_bad_handle(tmp_path):
    d, text = broken(tmp_path, 'accounts: ["@parlbxl"]', 'accounts: ["parl bxl"]')
    msg = error_of(d)
    line = line_of(text, 'accounts: ["parl bxl"]')
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: topics.0.accounts: 'parl bxl' is not an account handle")


def test_unknown_key_typo(tmp_path):
    d, text = broken(tmp_path, "    keywords:\n      - panel citoyen", "    keywrds:\n      - panel citoyen")
    msg = error_of(d)
    line = line_of(text, "keywrds:")
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: topics.3.keywrds: ")
    assert "not permitted" in msg


def test_invalid_yaml_gives_line_and_column(tmp_path):
    d, text = broken(tmp_path, "  - name: agora\n", "  - name: agora\n   label: [oops\n")
    msg = error_of(d)
    m = re.match(re.escape(str(d / "watchlists.yml")) + r":(\d+):(\d+): not valid YAML", msg)
    assert m, msg
    bad_line = line_of(text, "label: [oops")
    assert bad_line <= int(m.group(1)) <= bad_line + 1
    assert int(m.group(2)) >= 1


def test_bad_time_zone_in_settings(tmp_path):
    settings = "lake: lake\nlanguages: [fr, nl, en, de]\ntimezone: Europe/Brusels\n"
    d, _ = broken(tmp_path, "team: campagnes", "team: campagnes", settings=settings)
    msg = error_of(d)
    assert msg.startswith(f"{d / 'settings.yml'}:3: timezone: 'Europe/Brusels' is not an IANA time zone")


def test_missing_watchlists(tmp_path):
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(CONFIG / "settings.yml", d / "settings.yml")
    msg = error_of(d)
    assert str(d / "watchlists.yml") in msg and "not found" in msg


def test_missing_config_dir(tmp_path):
    msg = error_of(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in msg


def test_settings_are_optional(tmp_path):
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(CONFIG / "watchlists.yml", d / "watchlists.yml")
    cfg = load_config(d)
    assert cfg.settings.timezone == "Europe/Brussels"
    assert cfg.settings.languages == ["fr", "nl", "en", "de"]


def test_topic_language_not_in_settings(tmp_path):
    d, _ = broken(tmp_path, "team: campagnes", "team: campagnes",
                  settings="languages: [fr, nl, en]\n")
    msg = error_of(d)
    assert str(d / "watchlists.yml") in msg and "'de'" in msg


def test_topic_with_nothing_to_watch(tmp_path):
    old = '    hashtags: ["#AgoraBXL"]\n'
    text = SHIPPED.replace(
        "    keywords:\n      - panel citoyen\n      - panels citoyens\n      - burgerpanel\n"
        "      - burgerpanels\n      - citizens' panel\n", "")
    assert old in text
    d, _ = broken(tmp_path, SHIPPED, text.replace(old, ""))
    msg = error_of(d)
    assert "topics.3:" in msg and "at least one keyword, hashtag or account" in msg


# The CLI: `python -m listening config check DIR`

def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}
    return subprocess.run([sys.executable, "-m", "listening", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=60)


def test_cli_config_check_ok():
    r = run_cli("config", "check", str(CONFIG))
    assert r.returncode == 0, r.stderr
    assert "4 topics" in r.stdout
    for name in ("parlement", "budget-2027", "climate-bill", "agora"):
        assert re.search(rf"^\s+{re.escape(name)}\s+team ", r.stdout, re.M), r.stdout


def test_cli_config_check_broken(tmp_path):
    d, text = broken(tmp_path, 'hashtags: ["#BudgetBXL", "#Begroting2027"]',
                     'hashtags: ["budget", "#Begroting2027"]')
    r = run_cli("config", "check", str(d))
    assert r.returncode == 1
    assert r.stdout == ""
    line = line_of(text, 'hashtags: ["budget"')
    assert f"watchlists.yml:{line}: topics.1.hashtags: 'budget' is not a hashtag" in r.stderr


def test_key_written_twice_is_an_error_not_a_silent_overwrite(tmp_path):
    # the first list of keywords would otherwise be dropped without a word
    d, text = broken(tmp_path, '    hashtags: ["#AgoraBXL"]\n', '    hashtags: ["#AgoraBXL"]\n    keywords: [agora]\n')
    msg = error_of(d)
    line = line_of(text, "keywords: [agora]")
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}:5: not valid YAML: key 'keywords' is written twice")


# Queries: a bad one fails at config check with the topic, the query, the position and a caret

def test_bad_query_names_topic_line_position_and_caret(tmp_path):
    d, text = broken(tmp_path, "      - ordonnance NEAR/3 (climat OR climatique)",
                     "      - ordonnance NEAR/3 (climat OR climatique")
    msg = error_of(d)
    line = line_of(text, "- ordonnance NEAR/3 (climat OR climatique")
    first, shown, caret = msg.split("\n")
    assert first.startswith(f"{d / 'watchlists.yml'}:{line}: topics.2.queries.0: topic 'climate-bill': bad query: ")
    assert "this '(' is never closed (column 19)" in first
    assert shown.strip() == "ordonnance NEAR/3 (climat OR climatique"
    assert caret.index("^") - shown.index("o") == 18 and caret.strip() == "^"


def test_bad_exclusion_query(tmp_path):
    d, text = broken(tmp_path, "      - query: '\"participatief budget\" OR burgerbegroting OR Bürgerhaushalt'",
                     "      - query: 'participatief or budget'")
    msg = error_of(d)
    line = line_of(text, "- query: 'participatief or budget'")
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: topics.1.exclude.1: topic 'budget-2027': bad query: "
                          "write the operator OR in capitals")
    assert msg.splitlines()[-1] == "    " + " " * len("participatief ") + "^^"


def test_exclusion_mapping_takes_only_query(tmp_path):
    d, text = broken(tmp_path, "      - query: '\"participatief budget\"", "      - qeury: '\"participatief budget\"")
    msg = error_of(d)
    assert "topics.1.exclude.1: an exclusion is a keyword, or a mapping with one key, query:" in msg


def test_topic_with_only_queries_is_valid(tmp_path):
    old = "    keywords:\n      - panel citoyen\n      - panels citoyens\n      - burgerpanel\n" \
          "      - burgerpanels\n      - citizens' panel\n    hashtags: [\"#AgoraBXL\"]\n"
    d, _ = broken(tmp_path, old, "    queries: ['(panel OR panels) NEAR/1 (citoyen OR citoyens)']\n")
    assert load_config(d).watchlists.topic("agora").queries


def test_cli_config_check_shows_the_caret(tmp_path):
    d, text = broken(tmp_path, "      - klimaat NEAR/3 (ordonnantie OR wet)", "      - klimaat NEAR (ordonnantie OR wet)")
    r = run_cli("config", "check", str(d))
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert "topics.2.queries.1: topic 'climate-bill': bad query: NEAR needs a distance in words" in lines[0]
    assert lines[1] == "    klimaat NEAR (ordonnantie OR wet)"
    assert lines[2] == "            ^^^^"


def test_campaign_hashtag_and_dates_are_checked(tmp_path):
    d, text = broken(tmp_path, 'hashtag: "#AgoraBXL"', 'hashtag: "AgoraBXL"')
    msg = error_of(d)
    line = line_of(text, 'hashtag: "AgoraBXL"')
    assert msg.startswith(f"{d / 'watchlists.yml'}:{line}: campaigns.0.hashtag: ")
    assert "is not a hashtag" in msg
    (tmp_path / "b").mkdir()
    d, text = broken(tmp_path / "b", "start: 2026-11-02\n    team: campagnes",
                     "start: 2026-11-02\n    end: 2026-11-01\n    team: campagnes")
    assert "ends (2026-11-01) before it starts (2026-11-02)" in error_of(d)
