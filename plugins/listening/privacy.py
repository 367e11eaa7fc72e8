"""Pseudonymisation: analysts' datasets name authors by a keyed hash, never by their id.

The key comes from VIGIE_PSEUDONYM_KEY, else from the Airflow variable `vigie_pseudonym_key`
(so it can live in a secrets backend, and Airflow masks it in task logs), else it is made once
and kept in the lake (`_secrets/pseudonym.key`, readable by its owner only). The same author
gets the same pseudonym across runs (influence over weeks needs that) while nobody can reverse
it without the key. Rotating the key severs the link with past datasets (docs/privacy.md).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from listening import lake as lk
from listening.clean import digit_re
from listening.lake import at

KEY_ENV = "VIGIE_PSEUDONYM_KEY"
KEY_VARIABLE = "vigie_pseudonym_key"


def _airflow_variable() -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(KEY_VARIABLE, default=None)
    except Exception:  # no Airflow, or no metadata database to ask: the lake's key file decides
        return None


def load_key(lake: Path) -> bytes:
    env = os.environ.get(KEY_ENV) or _airflow_variable()
    if env:
        return env.encode()
    path = at(lake) / "_secrets" / "pseudonym.key"
    if not path.exists():  # two first tasks racing (mapped shards): the first one's key wins
        lk.create_once(path, secrets.token_hex(32).encode())
    return path.read_text().strip().encode()


def author_key(key: bytes, platform: str, author_id: str) -> str:
    return hmac.new(key, f"{platform}:{author_id}".encode(), hashlib.sha256).hexdigest()[:20]


def handle_key(key: bytes, platform: str, handle: str) -> str:
    """Pseudonym of an account known only by its handle (mentioned, never seen posting)."""
    return "h" + hmac.new(key, f"{platform}:@{handle.lstrip('@').casefold()}".encode(),
                          hashlib.sha256).hexdigest()[:19]


# ---- personal data inside texts ---------------------------------------------------------------

# An address, not a fediverse handle (@name@instance): nothing handle-like just before it.
EMAIL_RE = re.compile(r"(?<![@\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")
# International (+32 / 0032) or national (0...) numbers with the usual separators.
PHONE_RE = re.compile(r"(?<![\w+/.])(?:(?:\+|00)\d{2,3}[\s./-]?(?:\(0\)\s?)?|0)\d{1,3}(?:[\s./-]?\d{2,4}){2,4}(?![\w/])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
MASKS = {"email": "[email]", "phone": "[phone]", "iban": "[iban]"}


def _iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def _phone_ok(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return 9 <= digits <= 15


def mask_personal(text: str) -> tuple[str, list[str]]:
    """The text with e-mail addresses, phone numbers and IBANs masked, and the kinds masked.

    The raw layer keeps the original (pipeline-only, deleted by retention); everything analysts
    and e-mails read gets this version. IBANs must pass their checksum and phone numbers need
    9 to 15 digits, so dates, amounts and post ids are left alone.
    """
    kinds: list[str] = []
    if "@" in text:
        text, n = EMAIL_RE.subn(MASKS["email"], text)
        if n:
            kinds.append("email")
    if digit_re().search(text):  # any(c.isdigit() for c in text), in C
        def sub(kind, check):
            def repl(m):
                if check(m.group(0)):
                    kinds.append(kind)
                    return MASKS[kind]
                return m.group(0)
            return repl
        if IBAN_RE.search(text):  # rare: most texts with digits hold no IBAN-shaped word
            text = IBAN_RE.sub(sub("iban", _iban_ok), text)
        text = PHONE_RE.sub(sub("phone", _phone_ok), text)
    return text, list(dict.fromkeys(kinds))


# ---- erasure on request and retention --------------------------------------------------------

ERASURE_DIR = "_erasure"


def _suppression_path(lake: Path) -> Path:
    return at(lake) / ERASURE_DIR / "suppressed.json"


def suppressed(lake: Path) -> set[str]:
    """Pseudonyms of the authors erased on request: their posts are never imported again."""
    p = _suppression_path(lake)
    return set(json.loads(p.read_text())) if p.exists() else set()


def _scrub_text_files(root: Path, needles: list[str]) -> list[str]:
    """Text files under root (Data Docs, summaries) that quote an erased id get it replaced."""
    changed = []
    if not root.exists():
        return changed
    for p in root.rglob("*"):
        if not p.is_file() or p.suffix not in {".json", ".html", ".jsonl", ".txt", ".md"}:
            continue
        text = p.read_text(errors="replace")
        new = text
        for n in needles:
            new = new.replace(n, "[erased]")
        if new != text:
            from listening.lake import write_atomic

            write_atomic(p, new)
            changed.append(str(p.relative_to(root)))
    return changed


def _mail_mentions(path: Path, needles: list[str]) -> bool:
    from email import message_from_bytes

    msg = message_from_bytes(path.read_bytes())
    texts = [str(msg.get(h, "")) for h in ("Subject", "To")]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            texts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    blob = "\n".join(texts)
    return any(n in blob for n in needles)


def _scrub_references(table, post_ids: set[str], keys: set[str]):
    """Other people's posts that point at an erased post or author: the pointers go, the posts stay.

    Links to erased posts become null; a near-duplicate cluster named after an erased post is
    renamed after its first remaining post; erased pseudonyms leave `mentioned_keys`.
    """
    import pyarrow as pa

    rows = table.to_pylist()
    changed = False
    renamed: dict[str, str] = {}
    for r in rows:
        if r["cluster_id"] in post_ids and r["cluster_id"] not in renamed:
            members = sorted((m["created_at"], m["post_id"]) for m in rows if m["cluster_id"] == r["cluster_id"])
            renamed[r["cluster_id"]] = members[0][1]
    for r in rows:
        for c in ("reply_to", "repost_of", "quote_of", "original_id"):
            if r[c] in post_ids:
                r[c], changed = None, True
        if r["cluster_id"] in renamed:
            r["cluster_id"], changed = renamed[r["cluster_id"]], True
        kept = [k for k in r["mentioned_keys"] if k not in keys]
        if len(kept) != len(r["mentioned_keys"]):
            r["mentioned_keys"], changed = kept, True
    return pa.Table.from_pylist(rows, schema=table.schema) if changed else table


def author_names(ids_and_handles: set[str]) -> set[str]:
    """The forms under which an author may appear in a platform's raw record: a refused record is
    the platform's JSON, where the author may be named locally only (Mastodon's acct "name" for
    name@host), so string values equal to one of these are taken as naming the author."""
    names = {n.casefold() for n in ids_and_handles}
    return names | {n.lstrip("@").split("@")[0] for n in names} | {n.lstrip("@") for n in names}


def name_key(key: bytes, platform: str, name: str) -> str:
    """Pseudonym of a name form (author_names) kept in the suppression list: collections drop
    refused records naming an erased author without the list holding the name itself."""
    return author_key(key, platform, "name:" + name.casefold())


def _strings(value):
    """Every string value inside a decoded JSON record."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack += v.values()
        elif isinstance(v, list):
            stack += v
        elif isinstance(v, str):
            yield v


def names_erased(record, key: bytes, platform: str, erased: set[str]) -> bool:
    for v in _strings(record):
        if len(v) < 200:
            if name_key(key, platform, v) in erased:
                return True
        elif v[:1] in "{[":  # a refused page's body: the JSON it holds
            try:
                if names_erased(json.loads(v), key, platform, erased):
                    return True
            except (ValueError, RecursionError):
                pass
    return False


def erased_post(post: dict, key: bytes, erased: set[str]) -> bool:
    """A collected post to keep out: by an erased author (by id, or by handle for one erased
    before any post of theirs was collected), or a repost of theirs (its text is theirs)."""
    platform = post["platform"]
    if author_key(key, platform, str(post["author_id"])) in erased:
        return True
    handle = post.get("author_handle")
    if handle and name_key(key, platform, handle) in erased:
        return True
    return bool(post.get("repost_of")) and names_erased(post.get("original"), key, platform, erased)


def _rewrite_lines(path: Path, keep) -> int:
    """Keep the lines of a JSON Lines file for which `keep(line)` holds (atomically; the file goes
    when none is left); returns how many were dropped."""
    from listening.lake import write_atomic

    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if keep(line)]
    if len(kept) != len(lines):
        if kept:
            write_atomic(path, "\n".join(kept) + "\n")
        else:
            path.unlink()
    return len(lines) - len(kept)


def _erase_landed(lake: Path, platform: str, wanted: str, author_ids: set, post_ids: set, handles: set) -> int:
    """Drop the author's posts from the collectors' landed files, their quarantine and cursors.

    Fills `author_ids`, `post_ids` and `handles` with what it finds, so the other layers are
    cleaned of posts that only the landing area knew. Files are rewritten atomically."""
    from listening.lake import write_atomic

    root = lake / "landing"
    files = sorted(root.glob(f"source={platform}/dt=*/*.jsonl"))
    found_native: set[str] = set()
    for p in files:  # first pass: who and which posts (the handle finds the author id)
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            h = r.get("author_handle")
            if str(r.get("author_id")) in author_ids or (isinstance(h, str) and h.casefold() == wanted):
                author_ids.add(str(r["author_id"]))
                post_ids.add(f"{platform}:{r.get('id')}")
                found_native.add(str(r.get("id")))
                if isinstance(h, str):
                    handles.add(h)
    def not_theirs(line: str) -> bool:
        try:
            r = json.loads(line)
        except ValueError:
            return True
        if str(r.get("author_id")) in author_ids or f"{platform}:{r.get('id')}" in post_ids:
            return False
        # a repost of theirs carries their text and their account in its original
        return not (r.get("repost_of") and any(n in line for n in needles_of_posts))

    needles_of_posts = sorted(author_ids | handles | found_native)
    removed = sum(_rewrite_lines(p, not_theirs) for p in files)
    needles = sorted(author_ids | handles | found_native)
    names = author_names(author_ids | handles)

    def not_naming_them(line: str) -> bool:
        if any(n in line for n in needles):
            return False
        try:
            return not any(v.casefold() in names for v in _strings(json.loads(line)))
        except ValueError:
            return True

    removed += sum(_rewrite_lines(p, not_naming_them)
                   for p in sorted(root.glob(f"_quarantine/source={platform}/dt=*/*.jsonl")))
    for p in sorted((lake / "_state" / "collect" / platform).glob("*.json")):
        state = json.loads(p.read_text())
        changed = False
        for q in state.get("queries", {}).values():
            ids = [i for i in q.get("ids", []) if i not in found_native]
            if len(ids) != len(q.get("ids", [])):
                q["ids"], changed = ids, True
        if changed:
            write_atomic(p, json.dumps(state, indent=1, sort_keys=True))
    return removed


def erase_author(lake: Path, platform: str, author: str, key: bytes) -> dict:
    """Remove an author's posts and scores from every layer, and keep them out of later runs.

    `author` is a handle (`@name`, as in raw) or the platform's author id. Partitions are
    rewritten atomically; e-mails in the outbox that quote the author's posts are deleted; the
    log records pseudonyms and counts, never the handle. Aggregates (metrics) are anonymous and
    stay as they are.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from listening import lake as lk
    from listening.schema import ALERTS, AUTHORS, INFLUENCE_DAILY, MENTIONS, QUALITY, QUARANTINE, RAW

    lake = at(lake)
    wanted = author.casefold()
    author_ids, post_ids, handles = set(), set(), set()
    if not wanted.startswith("@"):
        author_ids.add(author)
    raw_files = sorted((lake / RAW.path).glob(f"source={platform}/dt=*/{lk.PART}"))
    for p in raw_files:
        t = lk.read_file(p, RAW).select(["post_id", "author_id", "author_handle"])
        for pid, aid, h in zip(*(t[c].to_pylist() for c in t.column_names)):
            if aid in author_ids or (h and h.casefold() == wanted):
                author_ids.add(aid)
                post_ids.add(pid)
                if h:
                    handles.add(h)
    if wanted.startswith("@"):  # an account only ever mentioned, or whose raw posts have expired
        handles.add(author)
    removed: dict[str, int] = {}
    # what the collectors landed and the nightly run has not read yet (or read already)
    landed = _erase_landed(lake, platform, wanted, author_ids, post_ids, handles)
    if landed:
        removed["landing"] = landed
    keys = {author_key(key, platform, a) for a in author_ids}
    # the name as asked too: an author not collected yet stays out of later collections
    name_keys = {name_key(key, platform, n) for n in author_names(author_ids | handles | {author})}

    def rewrite(ds, path: Path, keep_mask) -> None:
        table = lk.read_file(path, ds)
        keep = keep_mask(table)
        dropped = table.num_rows - pc.sum(keep.cast(pa.int64())).as_py() if table.num_rows else 0
        if dropped:
            lk.write_file(path, ds, table.filter(keep))
            removed[ds.name] = removed.get(ds.name, 0) + dropped

    ids_arr = pa.array(sorted(post_ids), pa.string())
    aids_arr = pa.array(sorted(author_ids), pa.string())
    keys_arr = pa.array(sorted(keys), pa.string())
    for p in raw_files:
        rewrite(RAW, p, lambda t: pc.invert(pc.or_(pc.is_in(t["post_id"], ids_arr),
                                                   pc.is_in(t["author_id"], aids_arr))))
    keys |= {handle_key(key, platform, h) for h in handles}
    for p in sorted((lake / MENTIONS.path).glob(f"dt=*/{lk.PART}")):
        rewrite(MENTIONS, p, lambda t: pc.invert(pc.or_(pc.is_in(t["post_id"], ids_arr),
                                                        pc.is_in(t["author_key"], keys_arr))))
        table = lk.read_file(p, MENTIONS)
        scrubbed = _scrub_references(table, post_ids, keys)
        if scrubbed is not table:
            lk.write_file(p, MENTIONS, scrubbed)
            removed["mentions_references"] = removed.get("mentions_references", 0) + 1
    for p in sorted((lake / AUTHORS.path).glob(f"dt=*/{lk.PART}")):
        rewrite(AUTHORS, p, lambda t: pc.invert(pc.is_in(t["author_key"], keys_arr)))
    keys_arr = pa.array(sorted(keys), pa.string())  # and the keys of their handles, as mentioned accounts
    for p in sorted((lake / INFLUENCE_DAILY.path).glob(f"dt=*/{lk.PART}")):
        rewrite(INFLUENCE_DAILY, p, lambda t: pc.invert(pc.or_(pc.is_in(t["author_key"], keys_arr),
                                                               pc.fill_null(pc.is_in(t["target_key"], keys_arr),
                                                                            False))))
    needles = sorted(post_ids | author_ids | handles)
    for p in sorted((lake / QUARANTINE.path).glob(f"layer=*/dt=*/{lk.PART}")):
        def keep_q(t):
            hit = pc.is_in(t["post_id"], ids_arr)
            for n in needles:
                hit = pc.or_(hit, pc.match_substring(t["record"], n))
            return pc.invert(pc.fill_null(hit, False))
        rewrite(QUARANTINE, p, keep_q)
    for p in sorted((lake / ALERTS.path).glob(f"dt=*/{lk.PART}")):
        table = lk.read_file(p, ALERTS)
        ev = table["evidence_post_ids"].to_pylist()
        cleaned = [[i for i in ids if i not in post_ids] for ids in ev]
        if cleaned != ev:
            i = table.schema.get_field_index("evidence_post_ids")
            lk.write_file(p, ALERTS, table.set_column(i, table.schema.field(i), pa.array(cleaned, pa.list_(pa.string()))))
            removed["alerts_evidence"] = removed.get("alerts_evidence", 0) + sum(len(a) - len(b) for a, b in zip(ev, cleaned))
    for p in sorted((lake / QUALITY.path).glob(f"dt=*/{lk.PART}")):
        table = lk.read_file(p, QUALITY)
        details = table["details"].to_pylist()
        cleaned = details
        for n in needles:
            cleaned = [d.replace(n, "[erased]") for d in cleaned]
        if cleaned != details:
            i = table.schema.get_field_index("details")
            lk.write_file(p, QUALITY, table.set_column(i, table.schema.field(i), pa.array(cleaned, pa.string())))
    mails = 0
    for p in sorted(lake.rglob("*.eml")):
        if needles and _mail_mentions(p, needles):
            p.unlink()
            mails += 1
    if mails:
        removed["emails"] = mails
    scrubbed = _scrub_text_files(lake / "quality", needles) + _scrub_text_files(lake / "reports", needles)
    if scrubbed:
        removed["text_files_scrubbed"] = len(scrubbed)
    # Keep them out of every later run: the importer skips these pseudonyms.
    lk.write_atomic(_suppression_path(lake), json.dumps(sorted(suppressed(lake) | keys | name_keys),
                                                        ensure_ascii=False, indent=1))
    entry = {"platform": platform, "author_keys": sorted(keys), "posts": len(post_ids), "removed": removed}
    log_path = lake / ERASURE_DIR / "log.jsonl"
    lk.append_text(log_path, json.dumps(entry, sort_keys=True) + "\n")
    from listening import catalog

    catalog.build(lake)
    return entry


def apply_retention(lake: Path, today, retention_days: int, raw_retention_days: int) -> dict:
    """Delete partitions older than the retention: raw data (and the quarantine, which holds raw
    records) and Great Expectations' validation results after raw_retention_days, everything
    else after retention_days."""
    from datetime import timedelta

    from listening.schema import DATASETS

    lake = at(lake)
    deleted: dict[str, int] = {}
    limits = {name: raw_retention_days if name in ("raw", "quarantine") else retention_days for name in DATASETS}
    # influence's daily facts (profiles of accounts, pseudonymous) are read by 28 nights, no more:
    # minimised to that (a re-run of an older day rebuilds them from its mentions)
    limits["influence_daily"] = min(retention_days, FACTS_DAYS)
    roots = {name: lake / ds.path for name, ds in DATASETS.items()}
    roots["outbox"], limits["outbox"] = lake / "outbox", retention_days
    roots["reports"], limits["reports"] = lake / "reports", retention_days
    # what the collectors landed is raw data (the original records): raw's retention
    roots["landing"], limits["landing"] = lake / "landing", raw_retention_days
    for name, root in roots.items():
        cutoff = (today - timedelta(days=limits[name])).isoformat()
        for d in sorted(root.rglob("dt=*")) if root.exists() else []:
            if d.is_dir() and d.name[3:] < cutoff:
                lk.remove_tree(d)
                deleted[name] = deleted.get(name, 0) + 1
    # Great Expectations keeps every run's results, and their Data Docs pages, forever: they name
    # the failing values (a raw post id, a date), and on an object store each validation fetches
    # them all. Kept as long as raw data, by the time the run validated.
    cutoff = (today - timedelta(days=raw_retention_days)).strftime("%Y%m%d")
    gx = lake / "quality" / "gx" / "gx" / "uncommitted"
    for root, counted in ((gx / "validations", True), (gx / "data_docs" / "local_site" / "validations", False)):
        # <suite, a dot making a folder>/<run name>/<run time, e.g. 20261126T134341.638072Z>/<batch>
        for d in sorted(root.rglob("*Z")) if root.exists() else []:
            if GX_RUN_TIME.fullmatch(d.name) and d.name[:8] < cutoff and d.is_dir():
                lk.remove_tree(d)
                if counted:  # the results; their pages go with them
                    deleted["validation_results"] = deleted.get("validation_results", 0) + 1
    return deleted


FACTS_DAYS = 28  # the longest influence window (pipeline.INFLUENCE_WINDOWS)
GX_RUN_TIME = re.compile(r"\d{8}T\d{6}(\.\d+)?Z")
