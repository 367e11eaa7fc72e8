"""CSV exports as a file source (listening.sources.csvfiles, docs/import-format.md "CSV exports")."""
from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listening.sources import csvfiles
from listening.sources.csvfiles import MappingError, load_mapping, parse_count
from listening.sources.files import import_files, read_day, records

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "include" / "config" / "examples" / "csv-mapping.yml"
DAY = date(2026, 11, 2)
UTC = timezone.utc
HEADER = ("Date;Heure;Réseau;ID du message;URL;Auteur;Nom d'utilisateur;ID auteur;Abonnés;Contenu;"
          "Langue;J'aime;Partages;Commentaires;Réponse à;Sentiment;Pays")


def vendor_row(d="02/11/2026", h="09:15", net="Twitter", pid="1001", url="", name="Alice D.", user="alice_bxl",
               aid="501", followers="1 234", text="Le budget 2027 arrive au #ParlBXL", lang="fr", likes="12",
               shares="3", comments="1", reply="", sentiment="Neutre", country="Belgique") -> list[str]:
    return [d, h, net, pid, url, name, user, aid, followers, text, lang, likes, shares, comments, reply,
            sentiment, country]


def write_csv(path: Path, rows: list, header: str = HEADER, delimiter: str = ";", encoding: str = "cp1252",
              terminator: str = "\r\n") -> Path:
    buf = io.StringIO(newline="")
    buf.write(header + terminator)
    w = csv.writer(buf, delimiter=delimiter, lineterminator=terminator)
    for r in rows:
        if isinstance(r, str):
            buf.write(r + terminator)
        else:
            w.writerow(r)
    data = buf.getvalue().encode(encoding)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.fixture
def imp(tmp_path) -> Path:
    d = tmp_path / "import"
    d.mkdir()
    shutil.copy(EXAMPLE, d / "csv-mapping.yml")
    return d


def ids(rows) -> list[str]:
    return [r["post_id"] for r in rows]


# --- a realistic vendor export ----------------------------------------------------------------

def test_vendor_export_lands_the_right_rows_in_utc(imp):
    write_csv(imp / "talkwalker-2026-11.csv", [
        vendor_row(pid="1001", url="https://x.com/alice_bxl/status/1001", text="Le budget régional : été 2027 — « enfin »"),
        vendor_row(pid="1002", d="02/11/2026", h="00:30"),          # 2026-11-01 23:30 UTC: the day before
        vendor_row(pid="1003", d="03/11/2026", h="00:30", net="Facebook", likes="1,2K", shares="2.5k",
                   followers="12.345", comments=""),                 # 2026-11-02 23:30 UTC
        vendor_row(pid="1004", net="Actualités en ligne", user="Le Soir", aid="lesoir.be", followers="",
                   reply="1001", lang="FR"),
        vendor_row(pid="1005", d="15/07/2026", h="14:00"),          # summer time: 12:00 UTC
    ])
    rows, bad = read_day(imp, DAY)
    assert bad == []
    assert ids(rows) == ["x:1001", "facebook:1003", "news:1004"]
    a, b, c = rows
    assert a["created_at"] == datetime(2026, 11, 2, 8, 15, tzinfo=UTC)
    assert b["created_at"] == datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    assert a["text"] == "Le budget régional : été 2027 — « enfin »"          # cp1252 decoded
    assert a["url"] == "https://x.com/alice_bxl/status/1001"
    assert (a["author_id"], a["author_handle"], a["author_followers"]) == ("501", "@alice_bxl", 1234)
    assert (a["like_count"], a["repost_count"], a["reply_count"], a["quote_count"]) == (12, 3, 1, 0)
    assert (b["like_count"], b["repost_count"], b["reply_count"], b["author_followers"]) == (1200, 2500, 0, 12345)
    assert c["author_followers"] is None and c["reply_to"] == "news:1001" and c["lang"] == "fr"
    assert c["author_handle"] == "@Le Soir"
    assert [r["source_line"] for r in rows] == [2, 4, 5]
    assert all(r["source_file"] == "talkwalker-2026-11.csv" for r in rows)
    payload = json.loads(a["payload"])                              # the whole row, unmapped columns too
    assert payload["Sentiment"] == "Neutre" and payload["Pays"] == "Belgique" and payload["Abonnés"] == "1 234"
    assert ids(read_day(imp, date(2026, 11, 1))[0]) == ["x:1002"]
    (summer,) = read_day(imp, date(2026, 7, 15))[0]
    assert summer["created_at"] == datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def test_rows_fit_the_raw_schema(imp):
    from listening.pipeline import _ArrowSink
    from listening.schema import RAW

    write_csv(imp / "a.csv", [vendor_row(pid=str(i)) for i in range(5)])
    sink = _ArrowSink(RAW.schema)
    _, bad = read_day(imp, DAY, rows=sink)
    assert bad == [] and sink.count == 5
    assert sink.tables()["x"].num_rows == 5


def test_gzip_utf8_bom_and_comma(tmp_path):
    (tmp_path / "export.mapping.yml").write_text(
        "fields:\n  platform: {value: bluesky}\n  id: uri\n  author_id: did\n  text: text\n  created_at: created\n")
    buf = "uri,did,text,created\r\nat://1,did:plc:1,\"Hello, world\",2026-11-02T10:00:00Z\r\n"
    (tmp_path / "export.csv.gz").write_bytes(gzip.compress(("\ufeff" + buf).encode("utf-8")))
    rows, bad = read_day(tmp_path, DAY)
    assert bad == []
    (r,) = rows
    assert r["post_id"] == "bluesky:at://1" and r["text"] == "Hello, world" and r["source_file"] == "export.csv.gz"


# --- line numbers, multi-line cells, bad rows -------------------------------------------------

def test_multi_line_quoted_cell_keeps_line_numbers_right(imp):
    write_csv(imp / "a.csv", [
        vendor_row(pid="1", text="première ligne\ndeuxième ligne\n\ntroisième ; avec \"guillemets\""),  # lines 2-5
        vendor_row(pid="2"),                                                                           # line 6
        vendor_row(pid="3", likes="beaucoup"),                                                        # line 7
        vendor_row(pid="4", text="a\r\nb"),                                                            # lines 8-9
        vendor_row(pid="5", h="25:99"),                                                                # line 10
    ])
    rows, bad = read_day(imp, DAY)
    assert [(r["post_id"], r["source_line"]) for r in rows] == [("x:1", 2), ("x:2", 6), ("x:4", 8)]
    assert rows[0]["text"] == "première ligne\ndeuxième ligne\n\ntroisième ; avec \"guillemets\""
    assert rows[2]["text"] == "a\r\nb"
    assert [(b["rule"], b["source_line"]) for b in bad] == [("like_count_type", 7), ("created_at_format", 10)]
    assert bad[0]["reason"].startswith("a.csv:7: like_count 'beaucoup' (column \"J'aime\")")
    assert "beaucoup" in bad[0]["record"] and bad[0]["post_id"] is None


@pytest.mark.parametrize("row,rule,words", [
    (vendor_row(pid=""), "missing_field", ["'id'", "(column 'ID du message')"]),
    (vendor_row(aid="  "), "missing_field", ["'author_id'"]),
    (vendor_row(likes="-3"), "like_count_negative", [">= 0", "J'aime"]),
    (vendor_row(followers="1.5"), "author_followers_type", ["'1.5'", "Abonnés"]),
    (vendor_row(d="2026-11-02"), "created_at_format", ["'2026-11-02 09:15'", "%d/%m/%Y %H:%M", "Date + Heure"]),
    (vendor_row(d=""), "created_at_format", ["created_at"]),
    (vendor_row(net="Online News"), "platform", ["lowercase"]),
    (vendor_row()[:-2], "csv_columns", ["15 cells", "17"]),
    ('02/11/2026;09:15;Twitter;99;;A;a;1;1;"le texte" suite;fr;0;0;0;;;', "csv", ["well-formed"]),
])
def test_bad_row_is_quarantined_with_file_and_line(imp, row, rule, words):
    write_csv(imp / "export.csv", [vendor_row(pid="ok1"), row, vendor_row(pid="ok2")])
    rows, bad = read_day(imp, DAY)
    assert ids(rows) == ["x:ok1", "x:ok2"]
    (b,) = bad
    assert b["rule"] == rule, b
    assert b["source_file"] == "export.csv" and b["source_line"] == 3
    assert b["reason"].startswith("export.csv:3: ")
    for w in words:
        assert w in b["reason"], b["reason"]
    assert b["record"] and "\n" not in b["record"]


def test_quote_left_open_swallows_the_rest_into_one_quarantined_record(imp):
    write_csv(imp / "a.csv", [vendor_row(pid="1"), '02/11/2026;09:15;Twitter;2;;A;a;1;1;"jamais fermé;fr;0;0;0;;;',
                              vendor_row(pid="3"), vendor_row(pid="4")])
    rows, bad = read_day(imp, DAY)
    assert ids(rows) == ["x:1"]
    (b,) = bad
    assert b["rule"] == "csv" and b["source_line"] == 3 and "lines 3-5" in b["reason"]
    assert "1001" not in b["record"] and "jamais fermé" in b["record"]


def test_bytes_the_encoding_does_not_have_are_quarantined(imp):
    p = write_csv(imp / "a.csv", [vendor_row(pid="1", text="ok"), vendor_row(pid="2", text="caf_")])
    p.write_bytes(p.read_bytes().replace(b"caf_", b"caf\x81"))  # 0x81 is not a cp1252 character
    rows, bad = read_day(imp, DAY)
    assert ids(rows) == ["x:1"]
    (b,) = bad
    assert b["rule"] == "encoding" and b["source_line"] == 3 and "Contenu" in b["reason"] and "cp1252" in b["reason"]
    assert "caf\ufffd" in b["record"]


def test_blank_and_empty_rows_are_skipped_and_still_counted(imp):
    write_csv(imp / "a.csv", [vendor_row(pid="1"), "", ";;;;;;;;;;;;;;;;", vendor_row(pid="2")])
    rows, bad = read_day(imp, DAY)
    assert bad == [] and [r["source_line"] for r in rows] == [2, 5]


def test_formula_cells_are_data(imp):
    formulas = ['=HYPERLINK("http://evil.example","clic")', "+32 2 549 62 11", "-2+3", "@SUM(1;2)", "=1+1"]
    write_csv(imp / "a.csv", [vendor_row(pid=str(i), text=t) for i, t in enumerate(formulas)])
    rows, bad = read_day(imp, DAY)
    assert bad == [] and [r["text"] for r in rows] == formulas


def test_bad_row_of_another_day_is_left_to_that_day(imp):
    write_csv(imp / "a.csv", [vendor_row(pid="1", d="05/11/2026", likes="-1")])
    assert read_day(imp, DAY) == ([], [])
    assert [b["rule"] for b in read_day(imp, date(2026, 11, 5))[1]] == ["like_count_negative"]


# --- the mapping ------------------------------------------------------------------------------

GOOD = """\
delimiter: ";"
encoding: cp1252
fields:
  platform: {value: x}
  id: ID
  author_id: Auteur
  text: Texte
  created_at:
    column: Date
    format: "%d/%m/%Y %H:%M"
    timezone: Europe/Brussels
"""


def test_the_shipped_example_mapping_is_valid():
    m = load_mapping(EXAMPLE)
    assert m.delimiter == ";" and m.encoding == "cp1252"
    assert m.fields["created_at"].columns == ("Date", "Heure")


@pytest.mark.parametrize("edit,line,key,words", [
    (("encoding: cp1252", "encoding: ebcdic"), 2, "encoding", ["'ebcdic'", "cp1252"]),
    (('delimiter: ";"', 'delimiter: ";;"'), 1, "delimiter", ["one character"]),
    (("  text: Texte", "  texte: Texte"), 7, "fields.texte", ["unknown field", "text"]),
    (("  text: Texte\n", ""), 3, "fields", ["text is required"]),
    (("    timezone: Europe/Brussels", "    timezone: Europe/Bruxelles"), 11, "fields.created_at.timezone",
     ["'Europe/Bruxelles'"]),
    (("    timezone: Europe/Brussels\n", ""), 10, "fields.created_at.format", ["%z", "timezone"]),
    (('    format: "%d/%m/%Y %H:%M"', '    format: "%d/%m/%Y %Q"'), 10, "fields.created_at.format", ["strptime"]),
    (("  id: ID", "  id: {column: ID, value: '1'}"), 5, "fields.id", ["either"]),
    (("  id: ID", "  id: {colonne: ID}"), 5, "fields.id.colonne", ["unknown key"]),
    (("  author_id: Auteur", "  author_id: yes"), 6, "fields.author_id", ["quotes"]),
    (("  author_id: Auteur", "  author_id: Auteur\n  id: Autre"), 7, "fields.id", ["twice", "line 5"]),
    (("encoding: cp1252", "encodage: cp1252"), 2, "encodage", ["unknown key"]),
    (("  text: Texte", "  text: {column: Texte, prefix: '@'}"), 7, "fields.text.prefix", ["only applies"]),
])
def test_bad_mapping_is_refused_with_file_line_and_key(tmp_path, edit, line, key, words):
    p = tmp_path / "csv-mapping.yml"
    p.write_text(GOOD.replace(*edit))
    with pytest.raises(MappingError) as e:
        load_mapping(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}: {key}: "), msg
    for w in words:
        assert w in msg, msg


def test_every_problem_of_a_mapping_is_reported_at_once(tmp_path):
    p = tmp_path / "m.mapping.yml"
    p.write_text(GOOD.replace("cp1252", "ebcdic").replace("Europe/Brussels", "Mars/Olympus"))
    with pytest.raises(MappingError) as e:
        load_mapping(p)
    assert [ln.split(": ")[0] for ln in str(e.value).splitlines()] == [f"{p}:2", f"{p}:11"]


def test_broken_yaml_is_named(tmp_path):
    p = tmp_path / "csv-mapping.yml"
    p.write_text("fields:\n  id: [unclosed\n")
    with pytest.raises(MappingError, match=rf"^{p}:\d+:\d+: not valid YAML"):
        load_mapping(p)


def test_bad_mapping_stops_its_csv_before_any_row_and_not_the_run(imp):
    (imp / "csv-mapping.yml").write_text(GOOD.replace("Europe/Brussels", "Europe/Bruxelles"))
    write_csv(imp / "a.csv", [vendor_row(pid="1")])
    (imp / "b.jsonl").write_text(json.dumps({"platform": "mastodon", "id": "9", "author_id": "a", "text": "t",
                                             "created_at": "2026-11-02T10:00:00Z"}) + "\n")
    for day in (DAY, DAY + timedelta(days=1)):                 # reported by every run until it is fixed
        rows, bad = read_day(imp, day)
        assert ids(rows) == (["mastodon:9"] if day == DAY else [])
        (b,) = bad
        assert b["rule"] == "csv_mapping" and b["source_file"] == "a.csv" and b["source_line"] is None
        assert b["reason"].startswith("a.csv: the file was not read")
        assert f"{imp / 'csv-mapping.yml'}:11: fields.created_at.timezone" in b["reason"]


def test_mapped_column_missing_from_the_header_is_named(imp):
    write_csv(imp / "a.csv", [vendor_row(pid="1")], header=HEADER.replace("Abonnés", "abonnés"))
    rows, bad = read_day(imp, DAY)
    assert rows == []
    (b,) = bad
    assert b["rule"] == "csv_header" and b["source_line"] == 1
    assert "csv-mapping.yml:" in b["reason"] and "fields.author_followers" in b["reason"]
    assert "'Abonnés' is not in the header of a.csv (did you mean 'abonnés'?)" in b["reason"]


def test_csv_without_a_mapping_is_reported_and_the_rest_is_read(tmp_path):
    write_csv(tmp_path / "orphan.csv", [vendor_row()])
    (tmp_path / "b.jsonl").write_text(json.dumps({"platform": "mastodon", "id": "9", "author_id": "a", "text": "t",
                                                  "created_at": "2026-11-02T10:00:00Z"}) + "\n")
    rows, bad = read_day(tmp_path, DAY)
    assert ids(rows) == ["mastodon:9"]
    (b,) = bad
    assert b["rule"] == "csv_no_mapping" and b["source_file"] == "orphan.csv"
    assert "orphan.mapping.yml" in b["reason"] and "csv-mapping.yml" in b["reason"]


def test_a_files_own_mapping_wins_over_the_directorys(imp):
    write_csv(imp / "a.csv", [vendor_row(pid="1")])
    write_csv(imp / "b.csv", [["1", "bonjour", "u", "2026-11-02T10:00:00+01:00"]], header="ID,Texte,U,Quand",
              delimiter=",", encoding="utf-8")
    (imp / "b.mapping.yml").write_text("fields:\n  platform: {value: reddit}\n  id: ID\n  author_id: U\n"
                                       "  text: Texte\n  created_at: Quand\n")
    rows, bad = read_day(imp, DAY)
    assert bad == [] and ids(rows) == ["x:1", "reddit:1"]
    assert rows[1]["created_at"] == datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_mapping_files_are_not_import_files(imp, caplog):
    write_csv(imp / "a.csv", [vendor_row()])
    (imp / "a.mapping.yml").write_text(EXAMPLE.read_text())
    with caplog.at_level("INFO"):
        assert [p.name for p in import_files(imp)] == ["a.csv"]
        assert [p.name for p in import_files(imp, csv=False)] == []
    assert "ignoring" not in caplog.text


# --- duplicates across CSV and JSON Lines -----------------------------------------------------

def test_duplicate_ids_across_csv_and_json_lines_first_file_in_name_order_wins(imp):
    write_csv(imp / "a-vendor.csv", [vendor_row(pid="77", text="from the CSV")])
    (imp / "b-tool.jsonl").write_text(json.dumps({"platform": "x", "id": "77", "author_id": "501", "text": "from JSON",
                                                  "created_at": "2026-11-02T08:15:00Z"}) + "\n")
    write_csv(imp / "c-vendor.csv", [vendor_row(pid="78"), vendor_row(pid="77", text="again")])
    rows, bad = read_day(imp, DAY)
    assert ids(rows) == ["x:77", "x:78"] and rows[0]["text"] == "from the CSV"
    assert [(b["rule"], b["source_file"], b["source_line"]) for b in bad] == [
        ("duplicate", "b-tool.jsonl", 1), ("duplicate", "c-vendor.csv", 3)]
    assert all("a-vendor.csv:2" in b["reason"] for b in bad)


# --- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,n", [
    ("0", 0), ("1234", 1234), ("1 234", 1234), ("1\u00a0234\u00a0567", 1234567), ("1\u202f234", 1234),
    ("1.234", 1234), ("1,234,567", 1234567), ("1'234", 1234), ("12.0", 12), ("12,00", 12),
    ("1.2K", 1200), ("1,2 k", 1200), ("3M", 3_000_000), ("2.5m", 2_500_000), (" 42 ", 42), ("-3", -3),
])
def test_counts_as_exports_write_them(cell, n):
    assert parse_count(cell, "like_count", "J'aime") == n


@pytest.mark.parametrize("cell", ["1.5", "1 23", "1.2345", "abc", "1e3", "1,2,3", "12 K M", "½", "١٢"])
def test_counts_that_are_not_whole_numbers_are_refused(cell):
    with pytest.raises(csvfiles.BadRecord):
        parse_count(cell, "like_count", "J'aime")


def test_records_reads_csv_too(imp):
    write_csv(imp / "a.csv", [vendor_row(pid="1", text="un"), vendor_row(pid="2", likes="?")])
    (imp / "b.jsonl").write_text('{"text": "deux"}\n')
    assert [r["text"] for r in records(imp)] == ["un", "deux"]


# --- fuzz -------------------------------------------------------------------------------------

FUZZ_MAPPING = """\
delimiter: "{d}"
encoding: {enc}
fields:
  platform: P
  id: ID
  author_id: A
  text: T
  created_at: {{column: C, format: "%d/%m/%Y %H:%M", timezone: Europe/Brussels}}
  like_count: L
  author_followers: F
"""
cells = st.one_of(st.text(max_size=40), st.sampled_from(
    ["", " ", '"', '""', ";", ",", "\n", "\r", "\r\n", "=1+1", "=HYPERLINK(\"x\")", "@a", "+1", "nul\x00", "\ufeff",
     "1 234", "1.2K", "-1", "12.5", "9" * 30, "é" * 5, "\u2028", "'", "x" * 200_000]))
times = st.one_of(
    st.datetimes(min_value=datetime(2026, 11, 1, 1), max_value=datetime(2026, 11, 3, 23)).map(
        lambda t: t.strftime("%d/%m/%Y %H:%M")), cells)
fuzz_rows = st.lists(st.one_of(
    st.fixed_dictionaries({"P": st.sampled_from(["x", "X", "mastodon", "Not A Platform"]) | cells,
                           "ID": st.text(min_size=1, max_size=6) | cells, "A": st.text(max_size=6) | cells,
                           "T": cells, "C": times, "L": cells, "F": cells}),
    st.lists(cells, max_size=9)), min_size=1, max_size=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                 HealthCheck.function_scoped_fixture])
@given(fuzz_rows, st.sampled_from([";", ","]), st.sampled_from(["utf-8", "cp1252"]), st.booleans())
def test_fuzzed_cells_never_crash_and_are_never_dropped_silently(tmp_path_factory, batch, delim, enc, gz):
    from listening.pipeline import _ArrowSink
    from listening.schema import RAW

    d = tmp_path_factory.mktemp("csv")
    (d / "csv-mapping.yml").write_text(FUZZ_MAPPING.format(d=delim, enc=enc))
    cols = ["P", "ID", "A", "T", "C", "L", "F"]
    out = io.StringIO(newline="")
    w = csv.writer(out, delimiter=delim, lineterminator="\r\n")
    w.writerow(cols)
    starts, texts = [], {}
    for r in batch:
        before = out.getvalue()
        starts.append(len(list(io.StringIO(before, newline=""))) + 1)
        w.writerow([r[c] for c in cols] if isinstance(r, dict) else r)
        if isinstance(r, dict):
            texts[starts[-1]] = r["T"]
    data = out.getvalue().encode(enc, errors="replace")
    name = "f.csv.gz" if gz else "f.csv"
    (d / name).write_bytes(gzip.compress(data) if gz else data)

    reported: set[int] = set()
    for day in (DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)):
        sink = _ArrowSink(RAW.schema)
        rows, bad = read_day(d, day, rows=[])
        for r in rows:
            sink.append(r)
            assert r["created_at"].date() == day and r["post_id"].startswith(r["platform"] + ":")
            if enc == "utf-8":
                assert r["text"] == texts[r["source_line"]]          # cells arrive as written
        sink.tables()
        lines = [r["source_line"] for r in rows] + [b["source_line"] for b in bad]
        assert len(lines) == len(set(lines)), "a record reported twice"
        for b in bad:
            assert b["rule"] and b["reason"].startswith(f"{name}:{b['source_line']}: ")
            assert len(b["record"]) <= 10_000
            b["record"].encode("utf-8")                               # storable
        reported |= set(lines)
    for line, r in zip(starts, batch):
        empty = (all(not str(v).strip() for v in r.values()) if isinstance(r, dict)
                 else all(not c.strip() for c in r))
        assert line in reported or empty, f"record of line {line} silently dropped: {r!r}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=80) | st.sampled_from([b'"', b'";"\n"', b"\x81\x8d\x00", b"\xef\xbb\xbf"]),
                max_size=12), st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_any_bytes_never_crash_the_run(tmp_path_factory, chunks, enc):
    d = tmp_path_factory.mktemp("bytes")
    (d / "csv-mapping.yml").write_text(FUZZ_MAPPING.format(d=";", enc=enc))
    (d / "f.csv").write_bytes("P;ID;A;T;C;L;F\r\n".encode(enc) + b"\r\n".join(chunks))
    rows, bad = read_day(d, DAY)
    for b in bad:
        assert b["rule"] and b["reason"].startswith("f.csv:")
        b["record"].encode("utf-8")
    for r in rows:
        assert r["created_at"].date() == DAY


def test_truncated_csv_gzip_keeps_what_was_read(imp):
    p = write_csv(imp / "a.csv.gz", [vendor_row(pid=str(i), text=f"texte {i} " * 20) for i in range(3000)])
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    write_csv(imp / "b.csv", [vendor_row(pid="b1")])
    rows, bad = read_day(imp, DAY)
    assert "x:0" in ids(rows) and "x:b1" in ids(rows)
    assert [b["rule"] for b in bad] == ["unreadable_file"] and bad[0]["source_file"] == "a.csv.gz"


def test_utf16_tab_separated_export(tmp_path):
    (tmp_path / "csv-mapping.yml").write_text(
        'delimiter: "\\t"\nencoding: utf-16\nfields:\n  platform: {value: youtube}\n  id: Id\n'
        "  author_id: Channel\n  text: Comment\n  created_at: Published\n")
    text = "Id\tChannel\tComment\tPublished\r\nc1\tUC1\tÇa marche 👍\t2026-11-02T10:00:00+00:00\r\n"
    (tmp_path / "yt.csv").write_bytes(text.encode("utf-16"))
    rows, bad = read_day(tmp_path, DAY)
    assert bad == [] and [r["text"] for r in rows] == ["Ça marche 👍"]
