"""The hourly collection: sources.yml checked, jobs planned, the DAG run by Airflow against a
fake platform, and the nightly run reading what it landed."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from conftest import REPO, airflow_home, env_for, everything_in
from fakes.harness import config_with, landed
from fakes.mastodon import Mastodon, corpus, status
from fakes.server import FakeServer
from listening import collect
from listening.config import ConfigError

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def test_sources_yml_errors_name_the_file_line_and_key(tmp_path):
    cfg = config_with(tmp_path, {"mastodon": {"instances": ["https://mastodon.social"]}})
    path = cfg.config_dir / "sources.yml"
    path.write_text("mastodon:\n  instances: [https://mastodon.social]\n  max_pages: 0\n")
    with pytest.raises(ConfigError, match=r"sources.yml:3: mastodon.max_pages"):
        collect.load_sources(cfg.config_dir, cfg)
    path.write_text("mastodon: {}\nmyspace:\n  enabled: true\n")
    with pytest.raises(ConfigError, match=r"sources.yml:2: myspace"):
        collect.load_sources(cfg.config_dir, cfg)
    path.write_text("mastodon:\n  topics: [parlement, budjet]\n")
    with pytest.raises(ConfigError, match=r"unknown topics \['budjet'\]"):
        collect.load_sources(cfg.config_dir, cfg)
    path.write_text("mastodon:\n  enabled: false\n")
    assert collect.load_sources(cfg.config_dir, cfg) == {}


def test_config_check_reports_a_bad_sources_yml(tmp_path):
    cfg = config_with(tmp_path, {"mastodon": {"instance": "typo"}})
    env = env_for(tmp_path / "lake", tmp_path)
    out = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "listening", "config", "check",
                          str(cfg.config_dir)], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "sources.yml:2: mastodon.instance: Extra inputs are not permitted" in out.stderr


def test_plan_one_job_per_source_and_topic_with_something_to_ask(tmp_path):
    cfg = config_with(tmp_path, {"mastodon": {"base_url": "http://127.0.0.1:9", "topics": ["parlement", "budget-2027"]}})
    jobs = collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    # the institution's own account is one job for every topic (its replies feed the response desk)
    assert jobs == [{"source": "mastodon", "topic": "all"}, {"source": "mastodon", "topic": "budget-2027"},
                    {"source": "mastodon", "topic": "parlement"}]


def test_the_nightly_run_waits_for_the_collection_past_midnight_but_not_for_ever(tmp_path, monkeypatch):
    day = "2026-11-19"
    end = datetime(2026, 11, 20, tzinfo=timezone.utc)
    cfg = config_with(tmp_path, {})
    monkeypatch.setenv("VIGIE_CONFIG_DIR", str(cfg.config_dir))
    assert collect.ready_for_nightly(day, end)[0]  # no collector: at once
    config_with(tmp_path, {"mastodon": {"base_url": "http://127.0.0.1:9", "topics": ["parlement"]}})
    ready, why = collect.ready_for_nightly(day, end + timedelta(minutes=10))
    assert not ready and "mastodon/parlement (last run: never)" in why
    ready, why = collect.ready_for_nightly(day, end + timedelta(hours=2))
    assert ready and "re-run" in why


@pytest.mark.slow
def test_collect_dag_under_airflow_lands_posts_the_nightly_run_reads(tmp_path, airflow_db):
    token = "tok-" + "5ecret" * 4
    app = Mastodon(corpus(60, NOW - timedelta(minutes=5)), token=token)
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "page_size": 20,
                                                  "topics": ["parlement", "budget-2027"]}})
        lake, home = tmp_path / "lake", airflow_home(airflow_db, tmp_path / "airflow")  # migrated
        env = env_for(lake, tmp_path / "no-import", home)
        env["VIGIE_CONFIG_DIR"] = str(cfg.config_dir)
        env["AIRFLOW_CONN_VIGIE_MASTODON"] = f'{{"conn_type": "generic", "password": "{token}"}}'
        airflow = str(REPO / ".venv" / "bin" / "airflow")
        # the run for 11:00-12:00 (data interval end = NOW)
        res = subprocess.run([airflow, "dags", "test", "listening_collect", (NOW - timedelta(hours=1)).isoformat()],
                             env=env, capture_output=True, text=True)
    log = res.stdout + res.stderr
    assert res.returncode == 0 and "state=success" in log, log[-4000:]
    lines = landed(lake, "mastodon")
    assert len({x["id"] for x in lines}) == 60 == len(lines)
    assert {x["collected"]["topic"] for x in lines} == {"parlement"}  # budget-2027 found nothing
    assert server.hits("/api/v2/search"), "the token from the Airflow connection reached the collector"
    assert token not in log
    assert not any(token in s for _, s in everything_in(lake))
    assert not any(token.encode() in p.read_bytes() for p in home.rglob("*") if p.is_file())
    # the nightly run of that day reads them: raw rows, then mentions of the topic
    from listening import pipeline
    from listening.schema import MENTIONS
    from listening import lake as lakemod

    run = pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=tmp_path / "no-import")
    assert pipeline.ingest(run)["posts"] == 60
    pipeline.build_mentions(run)
    mentions = pipeline.staged(run, MENTIONS)
    assert mentions.num_rows == 60
    assert all(t == ["parlement"] for t in mentions["topics"].to_pylist())


def test_the_example_sources_yml_is_valid_and_plans_jobs(tmp_path):
    import yaml

    example = yaml.safe_load((REPO / "include" / "config" / "examples" / "sources.yml").read_text())
    cfg = config_with(tmp_path, example)
    options = collect.load_sources(cfg.config_dir, cfg)
    assert sorted(options) == ["bluesky", "mastodon", "reddit", "rss", "x", "youtube"]
    jobs = {(j["source"], j["topic"]) for j in collect.plan(cfg, options)}
    assert ("rss", "all") in jobs and ("rss", "budget-2027") in jobs  # a shared feed is one job
    # the topics listed, and the institution's own account (for the response desk)
    assert {t for s, t in jobs if s == "x"} == {"parlement", "budget-2027", "all"}
    assert ("youtube", "all") in jobs


def test_the_response_desk_sees_an_answer_the_collectors_brought(tmp_path, monkeypatch):
    """A question collected from a hashtag and the institution's reply collected from its own
    account: the nightly desk pairs them (answered, by whom, after how long); a question on a
    platform where the institution's replies are not collected is 'unknown', not 'unanswered'."""
    from fakes.mastodon import status
    from listening import pipeline
    from listening.schema import RESPONSES

    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", "k")
    day_start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    question = status(500, day_start + timedelta(hours=9), user="citoyen", tags=("parlbxl",),
                      text="<p>@parlbxl@mastodon.brussels Quand le Parlement bruxellois vote-t-il le budget ? #parlbxl</p>")
    other = status(502, day_start + timedelta(hours=9, minutes=30), user="voisine", tags=("parlbxl",),
                   text="<p>@parlbxl@mastodon.brussels Pourquoi le Parlement bruxellois ne publie-t-il pas l'ordre du jour ? #parlbxl</p>")
    answer = status(501, day_start + timedelta(hours=11), user="parlbxl", remote="mastodon.brussels", tags=(),
                    reply_to=500, text="<p>@citoyen Le vote est prévu jeudi en séance plénière.</p>")
    app = Mastodon([question, other, answer])
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        lake = tmp_path / "lake"
        for job in collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg)):
            collect.run_job(job["source"], job["topic"], config=cfg, lake=lake, now=day_start + timedelta(hours=23),
                            use_connection=False)
    (tmp_path / "import").mkdir()
    (tmp_path / "import" / "x.jsonl").write_text(json.dumps({  # the same kind of question, on X
        "platform": "x", "id": "77", "author_id": "u77", "author_handle": "@quidam",
        "created_at": "2026-11-20T10:00:00Z", "text": "@parlbxl Quand le Parlement bruxellois vote-t-il le budget ?"}) + "\n")
    run = pipeline.Run(day=day_start.date(), run_id="t", config=cfg, lake=lake, import_dir=tmp_path / "import")
    pipeline.ingest(run)
    pipeline.build_mentions(run)
    pipeline.track_responses(run)
    desk = {r["post_id"]: r for r in pipeline.staged(run, RESPONSES).to_pylist()}
    q = desk[f"mastodon:{question['uri']}"]
    assert q["status"] == "answered" and q["answered_by"] == "@parlbxl@mastodon.brussels"
    assert q["response_hours"] == pytest.approx(2.0)
    assert desk[f"mastodon:{other['uri']}"]["status"] == "unanswered"
    assert desk["x:77"]["status"] == "unknown"  # no reply of the institution on X is collected here


def test_one_platform_down_does_not_stop_the_others(tmp_path, monkeypatch):
    from fakes.x import X, corpus as x_corpus

    now = datetime.now(timezone.utc).replace(microsecond=0)
    masto = Mastodon(corpus(20, now - timedelta(minutes=5)))
    with FakeServer(masto) as ms, FakeServer(X(x_corpus(20, now - timedelta(minutes=5)), token="t" * 20)) as xs:
        masto.url = ms.url
        xs.down()
        cfg = config_with(tmp_path, {"mastodon": {"base_url": ms.url, "topics": ["parlement"], "search": False},
                                     "x": {"base_url": xs.url, "topics": ["parlement"]}})
        monkeypatch.setenv("AIRFLOW_CONN_VIGIE_X", '{"conn_type": "generic", "password": "' + "t" * 20 + '"}')
        monkeypatch.setattr("listening.sources.http.Client._backoff", lambda self, attempt: 0.0)
        results = collect.run_all(cfg, lake=tmp_path / "lake", now=now)
    by_job = {(r.get("source"), r.get("topic")): r for r in results}
    assert by_job[("mastodon", "parlement")]["posts"] == 20
    failed = [r for r in results if "failed" in r]
    assert failed and all(r["source"] == "x" for r in failed) and "503" in failed[0]["failed"]
    assert len(landed(tmp_path / "lake", "mastodon")) == 20 and landed(tmp_path / "lake", "x") == []


def test_with_collectors_the_nightly_run_never_falls_back_on_the_bundled_sample(tmp_path, monkeypatch):
    from listening import pipeline

    cfg = config_with(tmp_path, {"rss": {"feeds": [{"url": "https://example.org/feed"}]}})
    monkeypatch.delenv("VIGIE_IMPORT_DIR", raising=False)
    run = pipeline.make_run("2026-11-20", config_dir=str(cfg.config_dir), lake_dir=str(tmp_path / "lake"))
    assert run.import_dir == tmp_path / "lake" / "import"
    out = pipeline.ingest(run)  # the first night: nothing landed yet, no import directory: no error
    assert out["posts"] == 0 and out["landed_files"] == 0


def test_a_source_without_credentials_does_not_hold_the_nightly_run(tmp_path, monkeypatch):
    now = datetime(2026, 11, 20, 0, 5, tzinfo=timezone.utc)
    app = Mastodon(corpus(5, now - timedelta(minutes=30)))
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False},
                                     "x": {"topics": ["parlement"]}})
        monkeypatch.setenv("VIGIE_CONFIG_DIR", str(cfg.config_dir))
        monkeypatch.setenv("VIGIE_LAKE", str(tmp_path / "lake"))
        monkeypatch.delenv("AIRFLOW_CONN_VIGIE_X", raising=False)
        collect.run_all(cfg, lake=tmp_path / "lake", now=now)
    ready, why = collect.ready_for_nightly("2026-11-19", now + timedelta(minutes=5))
    assert ready, why
    x = {h["source"]: h for h in collect.health(tmp_path / "lake", now.date())}["x"]
    assert x["skipped"] == x["runs"] >= 1 and x["down"] and "vigie_x" in x["last_error"]


def test_a_failed_last_run_keeps_the_nightly_waiting_until_its_retry_or_two_hours(tmp_path, monkeypatch):
    now = datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)
    app = Mastodon(corpus(5, now - timedelta(minutes=30)))
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        monkeypatch.setenv("VIGIE_CONFIG_DIR", str(cfg.config_dir))
        monkeypatch.setenv("VIGIE_LAKE", str(tmp_path / "lake"))
        monkeypatch.setattr("listening.sources.http.Client._backoff", lambda self, attempt: 0.0)
        server.down()
        collect.run_all(cfg, lake=tmp_path / "lake", now=now)
        ready, why = collect.ready_for_nightly("2026-11-19", now + timedelta(minutes=10))
        assert not ready and "last run failed" in why
        assert collect.ready_for_nightly("2026-11-19", now + timedelta(hours=2))[0]
        server.up()
        collect.run_all(cfg, lake=tmp_path / "lake", now=now + timedelta(minutes=4))  # the retry
    assert collect.ready_for_nightly("2026-11-19", now + timedelta(minutes=10))[0]


def test_an_answer_the_collector_did_not_expect_fails_its_query_not_the_job(tmp_path):
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    app = Mastodon(corpus(30, now - timedelta(minutes=1)))
    with FakeServer(app) as server:
        app.url = server.url
        server.fail("/api/v1/accounts/lookup", status=200, body="<html>maintenance</html>")
        server.fail("/api/v1/accounts/lookup", status=200, body="<html>maintenance</html>")
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        app.add(status(99, now - timedelta(minutes=2), user="parlbxl"))  # the account exists
        with pytest.raises(collect.SourceError, match="account:parlbxl"):
            collect.run_job("mastodon", "parlement", config=cfg, lake=tmp_path / "lake", now=now,
                            use_connection=False)
    assert len(landed(tmp_path / "lake", "mastodon")) == 31  # the hashtag's posts are landed all the same


def test_credentials_are_stripped_and_a_bad_header_never_shows_the_token(tmp_path, monkeypatch):
    from listening.sources.http import Client

    monkeypatch.setenv("AIRFLOW_CONN_VIGIE_X", json.dumps({"conn_type": "generic", "password": "tok-SECRET-123\n"}))
    assert collect.credentials("x").password == "tok-SECRET-123"
    with pytest.raises(collect.SourceError) as err:
        Client(secrets=["tok-SECRET-123\n"]).request("GET", "http://127.0.0.1:9/x",
                                                     headers={"Authorization": "Bearer tok-SECRET-123\n"})
    assert "SECRET" not in str(err.value) and "InvalidHeader" in str(err.value)


def test_a_short_numeric_secret_never_breaks_a_landed_line(tmp_path):
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    s = status(1117, now - timedelta(minutes=1))
    s["favourites_count"] = 1117
    app = Mastodon([s], token="1117")
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        from listening.sources.base import Creds

        collect.run_job("mastodon", "parlement", config=cfg, lake=tmp_path / "lake", now=now,
                        creds=Creds(password="1117"), use_connection=False)
    [line] = landed(tmp_path / "lake", "mastodon")
    assert line["like_count"] == 1117
