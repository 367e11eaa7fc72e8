"""Bot-likeness of authors over a day (listening.authenticity)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
from listening import dedupe
from listening.authenticity import bot_scores

T0 = datetime(2026, 11, 13, 6, 0, tzinfo=UTC)
SPAM = "Gagnez jusqu'à 500€/jour avec le trading crypto, méthode 100% gratuite ! #BudgetBXL https://bit.ly/x"
JOURNALIST = [
    "Le budget régional 2027 arrive en commission ce matin, suivez le fil.",
    "Premier orateur : la majorité défend une trajectoire de retour à l'équilibre en 2029.",
    "L'opposition dénonce des coupes dans la mobilité et le logement social.",
    "Pause de midi. Reprise des débats à 14h avec les questions sur la STIB.",
    "La ministre du Budget répond : pas de nouvelle taxe régionale cette année.",
    "Vote sur l'ordonnance climat reporté à jeudi, faute d'avis du Conseil d'État.",
    "Échange tendu sur le financement des communes, le président rappelle au calme.",
    "Les syndicats manifestent devant le parlement, quelques centaines de personnes.",
    "Amendement sur les primes énergie adopté par 45 voix contre 30.",
    "Mon analyse du débat budgétaire sera en ligne ce soir sur notre site.",
    "Question orale sur la zone de basses émissions : report de l'échéance de 2025 ?",
    "Séance suspendue dix minutes après un incident de procédure.",
    "Le rapport de la Cour des comptes cité par trois groupes politiques.",
    "Fin de séance. Le vote final sur le budget aura lieu la semaine prochaine.",
    "Merci à tous pour vos messages, on reprend demain matin à 9h.",
]

WORDS = ["budget", "parlement", "vote", "commission", "ministre", "mobilité", "climat", "logement", "transport", "bruxelles", "région", "taxe", "école", "emploi", "santé", "vélo", "tram", "métro", "loyer", "énergie", "prime", "quartier", "commune", "police", "propreté", "parc", "rue", "débat", "opposition", "majorité", "député", "séance", "question", "réponse", "chiffre", "rapport", "avis", "projet"]


def score(authors, minutes, texts, reposts=None, **kw):
    n = len(texts)
    ids = [f"x:{i}" for i in range(n)]
    times = [T0 + timedelta(minutes=m) for m in minutes]
    reposts = reposts or [None] * n
    c = dedupe.clusters(ids, texts, times, authors, reposts)
    return bot_scores(authors, times, texts, None, c["cluster_size"], [r is not None for r in reposts],
                      cluster_ids=c["cluster_id"], **kw)


def crowd(k: int = 40) -> tuple[list[str], list[int], list[str]]:
    """Ordinary people: a few posts each, some sharing a short "merci"."""
    rng = random.Random(k)
    authors, minutes, texts = [], [], []
    for i in range(k):
        for j in range(1 + i % 3):
            authors.append(f"p{i}")
            minutes.append((i * 37 + j * 200) % 1000)
            words = rng.sample(WORDS, 12)
            texts.append("Merci !" if (i + j) % 7 == 0 else " ".join(words).capitalize() + ".")
    return authors, minutes, texts


def test_scripted_bot_scores_high_with_reasons_and_journalist_low():
    authors, minutes, texts = crowd()
    authors += ["bot"] * 100 + ["journalist"] * 15
    minutes += [600 + k * 0.6 for k in range(100)] + [0, 25, 70, 160, 190, 260, 330, 345, 420, 500, 560, 640, 700, 790, 860]
    texts += [SPAM] * 100 + JOURNALIST
    s, reasons = score(authors, minutes, texts, handles=[None] * (len(texts) - 115) + ["@crypto77812"] * 100
                       + ["@marie_dupont_lesoir"] * 15, followers=[100] * (len(texts) - 115) + [3] * 100 + [4200] * 15)
    bot, journalist = authors.index("bot"), authors.index("journalist")
    assert s[bot] > 0.7 and s[journalist] < 0.3, reasons[journalist]
    assert "posted 100 times in one hour" in reasons[bot]
    assert "posted the same text 100 times" in reasons[bot]
    assert all(s[i] == s[bot] and reasons[i] == reasons[bot] for i, a in enumerate(authors) if a == "bot")
    assert reasons[journalist] == []
    ordinary = [s[i] for i, a in enumerate(authors) if a.startswith("p")]
    assert max(ordinary) < 0.5


def test_campaign_accounts_score_high_each_posting_once():
    authors, minutes, texts = crowd()
    base = "L'ordonnance climat va ruiner les familles bruxelloises. Stop à cette folie !"
    verbs = ["ruiner", "appauvrir", "plomber", "saigner"]
    for k in range(30):
        authors.append(f"c{k}")
        minutes.append(700 + k * 1.5)
        texts.append(base.replace("ruiner", verbs[k % 4]) + f" 😡 #ClimatBXL @mp{k % 6}")
    s, reasons = score(authors, minutes, texts)
    camp = [i for i, a in enumerate(authors) if a.startswith("c")]
    assert min(s[i] for i in camp) > 0.5
    assert any(r.startswith("posted the same text as") for r in reasons[camp[0]])
    assert max(s[i] for i, a in enumerate(authors) if a.startswith("p")) < 0.5


def test_link_only_and_optional_inputs():
    texts = [f"https://example.org/a{k}" for k in range(12)]
    s, reasons = score(["linker"] * 12, [k * 7 for k in range(12)], texts,
                       author_created_at=[T0 - timedelta(days=2)] * 12, handles=[None] * 12, followers=[None] * 12)
    assert s[0] > 0.5 and "link-only posts" in reasons[0] and any("account created" in r for r in reasons[0])
    s2, _ = score(["linker"] * 12, [k * 7 for k in range(12)], texts, author_created_at=[None] * 12)
    assert s2[0] < s[0]


def test_scores_in_unit_interval_and_empty():
    authors, minutes, texts = crowd(60)
    s, reasons = score(authors, minutes, texts)
    assert len(s) == len(reasons) == len(texts)
    assert np.all((s >= 0) & (s <= 1))
    s, reasons = bot_scores([], [], [], [], [], [])
    assert len(s) == 0 and reasons == []


def test_arrow_columns_give_the_result_of_lists():
    # merge_mentions passes links, reposts and followers as Arrow columns: the same scores and reasons
    import pyarrow as pa

    authors, minutes, texts = crowd()
    authors += ["short"] * 6
    minutes += [100 * k for k in range(6)]
    texts += [f"Lisez ceci {k} https://bit.ly/a{k}" for k in range(6)]
    n = len(texts)
    times = [T0 + timedelta(minutes=m) for m in minutes]
    links = [[w for w in x.split() if w.startswith("http")] for x in texts]
    reposts = [i % 9 == 0 for i in range(n)]
    followers = [None if i % 5 else 10 * i for i in range(n)]
    c = dedupe.clusters([f"x:{i}" for i in range(n)], texts, times, authors)
    ref = bot_scores(authors, times, texts, links, c["cluster_size"], reposts, cluster_ids=c["cluster_id"],
                     followers=followers)
    arrow_links = pa.chunked_array([links[:50], links[50:]], pa.list_(pa.string()))
    out = bot_scores(authors, times, texts, arrow_links, c["cluster_size"], pa.array(reposts),
                     cluster_ids=c["cluster_id"], followers=pa.array(followers, pa.int64()),
                     normalised=dedupe.normalise(pa.array(texts)))
    assert "links through URL shorteners" in ref[1][-1]
    assert np.array_equal(ref[0], out[0]) and ref[1] == out[1]
    # the merge of a sharded day has the normalised lengths only (dedupe.text_keys), not the texts
    lengths = dedupe.text_keys(texts)["norm_len"]
    out = bot_scores(authors, times, None, links, c["cluster_size"], reposts, cluster_ids=c["cluster_id"],
                     followers=followers, norm_lengths=pa.array(lengths))
    assert np.array_equal(ref[0], out[0]) and ref[1] == out[1]
