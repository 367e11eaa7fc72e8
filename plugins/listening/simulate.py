"""Synthetic social-media corpus about the Brussels regional parliament.

``simulate(out_dir, ...)`` writes, in the import format of docs/import-format.md:

* ``import/posts-YYYY-MM-DD.jsonl.gz``: one file per UTC day, lines sorted by ``created_at``,
  with a few deliberately malformed lines (listed in the manifest);
* ``truth.jsonl.gz``: one line per valid post with its true topics, language, sentiment,
  kind and planted event;
* ``truth.json``: the manifest (counts, planted events, bad lines).

Everything derives from one ``random.Random(seed)``: the same arguments give the same bytes
(gzip members are written with ``mtime=0`` and no file name). Standard library only.

Topic truth follows the matcher's rules exactly (see ``topics_of``): whole-word keywords,
case- and accent-insensitive; hashtags as hashtags, case-insensitive; topic ``parlement``
also when the author is the institution or the text mentions one of its handles; a
budget-2027 post whose text says "budget participatif" is excluded from budget-2027.

Opt-in ``answers=True`` (``--answers``): the institution's account on the question's
platform replies to some questions addressed to it (answer posts of kind ``answer``; truth
event ``answers``). Its randomness comes from ``random.Random(seed + ANSWER_SEED_OFFSET)``,
so every other post is byte-identical with or without it.

Command line: ``python -m listening.simulate OUT_DIR [--posts N] [--days D] [--seed S] [--answers]``.
"""
from __future__ import annotations

import bisect
import gzip
import json
import math
import os
import random
import re
import time
import unicodedata
from datetime import date, datetime, timedelta, timezone

# --------------------------------------------------------------------------------------
# Watched topics (mirror of include/config/watchlists.yml; kept here on purpose).
# --------------------------------------------------------------------------------------
TOPICS = {
    "parlement": {
        "keywords": ["Parlement bruxellois", "Brussels Parlement", "Brussels Parliament",
                     "Parlement de la Région de Bruxelles-Capitale",
                     "Brussels Hoofdstedelijk Parlement", "Brüsseler Parlament"],
        "hashtags": ["#ParlBXL"],
        "accounts": ["@parlbxl"],
        "exclude": [],
    },
    "budget-2027": {
        "keywords": ["budget régional", "budget 2027", "gewestbegroting", "begroting 2027",
                     "regional budget", "Haushalt 2027"],
        "hashtags": ["#BudgetBXL", "#Begroting2027"],
        "accounts": [],
        "exclude": ["budget participatif"],
    },
    "climate-bill": {
        "keywords": ["ordonnance climat", "ordonnance sur le climat", "klimaatordonnantie",
                     "klimaatwet", "climate bill", "Klimagesetz"],
        "hashtags": ["#ClimatBXL", "#KlimaatBXL"],
        "accounts": [],
        "exclude": [],
    },
    "agora": {
        "keywords": ["panel citoyen", "panels citoyens", "burgerpanel", "burgerpanels",
                     "citizens' panel"],
        "hashtags": ["#AgoraBXL"],
        "accounts": [],
        "exclude": [],
    },
}
# institution.accounts of the watchlists; the institution's topic is "parlement".
INSTITUTION_TOPIC = "parlement"
INSTITUTION = {"mastodon": "@parlbxl@mastodon.brussels", "bluesky": "@parlbxl.bsky.social",
               "x": "@parlbxl"}

# Answers of the institution to the questions addressed to it (opt-in, `answers=True`).
ANSWER_SEED_OFFSET = 0x5EED_A45   # answers draw from random.Random(seed + this)
# (category, probability, min delay s, max delay s); the rest (35%) is never answered
ANSWER_DELAYS = [("<24h", 0.40, 5 * 60, 24 * 3600 - 60),
                 ("24-48h", 0.15, 24 * 3600 + 60, 48 * 3600 - 60),
                 (">48h", 0.10, 48 * 3600 + 60, 96 * 3600)]
ANSWER_TEXTS = {
    "fr": ["Bonjour, merci pour votre question : la séance est publique, l'ordre du jour est en ligne.",
           "Bonjour, merci pour votre message. Les documents sont disponibles sur notre site, rubrique travaux.",
           "Merci pour votre question ! La réponse se trouve dans le compte rendu de la commission, publié en ligne.",
           "Bonjour, bonne question : nous la transmettons au service concerné et revenons vers vous en message privé."],
    "nl": ["Dag, bedankt voor uw vraag: de zitting is openbaar, de agenda staat online.",
           "Hallo, bedankt voor uw bericht. De documenten staan op onze website, onder werkzaamheden.",
           "Bedankt voor uw vraag! Het antwoord staat in het verslag van de commissie, online gepubliceerd.",
           "Dag, goede vraag: we geven ze door aan de bevoegde dienst en antwoorden u via privébericht."],
    "en": ["Hello, thank you for your question: the session is public and the agenda is online.",
           "Hi, thanks for your message. The documents are available on our website, under parliamentary work.",
           "Thank you for your question! The answer is in the committee report, published online.",
           "Hello, good question: we are passing it on to the relevant department and will reply by direct message."],
    "de": ["Guten Tag, vielen Dank für Ihre Frage: Die Sitzung ist öffentlich, die Tagesordnung ist online.",
           "Hallo, danke für Ihre Nachricht. Die Dokumente finden Sie auf unserer Website unter Parlamentsarbeit.",
           "Vielen Dank für Ihre Frage! Die Antwort steht im Ausschussbericht, der online veröffentlicht ist.",
           "Guten Tag, gute Frage: Wir leiten sie an die zuständige Stelle weiter und antworten Ihnen per Direktnachricht."],
}

LANG_MIX = {"fr": 0.45, "nl": 0.35, "en": 0.12, "de": 0.08}
PLATFORM_MIX = {"x": 0.30, "mastodon": 0.20, "bluesky": 0.20, "reddit": 0.15, "youtube": 0.15}
# topic weights of topical posts per language (German: mostly climate and budget)
TOPIC_MIX = {
    "fr": {"parlement": 0.25, "budget-2027": 0.30, "climate-bill": 0.30, "agora": 0.15},
    "nl": {"parlement": 0.25, "budget-2027": 0.30, "climate-bill": 0.30, "agora": 0.15},
    "en": {"parlement": 0.25, "budget-2027": 0.30, "climate-bill": 0.33, "agora": 0.12},
    "de": {"parlement": 0.12, "budget-2027": 0.40, "climate-bill": 0.48},
}
OFF_TOPIC_SHARE = 0.20
SENTIMENT_BASE = {"negative": 0.25, "neutral": 0.45, "positive": 0.30}
SENTIMENT_DROP = {"negative": 0.77, "neutral": 0.16, "positive": 0.07}  # ~70% overall
# Brussels local hour -> relative activity (quiet night, late-morning and evening peaks)
DIURNAL = [0.22, 0.12, 0.07, 0.05, 0.05, 0.09, 0.28, 0.65, 1.05, 1.35, 1.6, 1.75,
           1.5, 1.3, 1.3, 1.35, 1.4, 1.5, 1.65, 1.85, 1.95, 1.75, 1.15, 0.55]

# Planted events (day numbers are 1-based: day 1 = start)
BURST_DAY, BURST_LOCAL_HOURS, BURST_FACTOR = 9, (14, 18), 6.0
GATE_TAG, GATE_FIRST_DAY, GATE_FIRST_POSTS = "#BudgetGate", 8, 5  # ~5 posts on day 8 (3..8 by size)
GATE_SHARE = {9: 0.07, 10: 0.17, 11: 0.29, 12: 0.41, 13: 0.53, 14: 0.65}  # of budget posts
ENTRY_DAY, ENTRY_HANDLE, ENTRY_FOLLOWERS = 10, "@actu_bxl", 251_400
DROP_DAY = 11
CAMPAIGN_DAY, CAMPAIGN_LOCAL_HOUR, CAMPAIGN_ACCOUNTS = 12, 19, 40

BAD_REASONS = ["not valid JSON", "JSON array instead of an object", "missing id",
               "created_at without time zone", "negative like_count",
               "author_followers is not a number"]


# --------------------------------------------------------------------------------------
# Matching (same semantics as the pipeline's topic matcher)
# --------------------------------------------------------------------------------------
_FOLD = {}
for _cp in range(0xC0, 0x250):
    _ch = chr(_cp)
    _base = "".join(c for c in unicodedata.normalize("NFKD", _ch) if not unicodedata.combining(c))
    if _base != _ch and _base:
        _FOLD[_cp] = _base


def fold(text: str) -> str:
    """Lowercase and strip accents (Latin letters; enough for the texts generated here)."""
    return text.lower().translate(_FOLD)


def _w(c: str) -> bool:
    return c.isalnum() or c == "_"


def _build_terms():
    terms = []   # (folded term, topic, left-forbidden extra chars)
    for topic, spec in TOPICS.items():
        for kw in spec["keywords"]:
            terms.append((fold(kw), topic, ""))
        for tag in spec["hashtags"]:
            terms.append((fold(tag), topic, "#"))
    # a mention of the institution: @parlbxl, @parlbxl@mastodon.brussels, @parlbxl.bsky.social
    terms.append(("@parlbxl", INSTITUTION_TOPIC, "@."))
    excl = {t: [fold(e) for e in s["exclude"]] for t, s in TOPICS.items() if s["exclude"]}
    return terms, excl


_TERMS, _EXCL = _build_terms()
_INSTITUTION_HANDLES = {h.lower() for h in INSTITUTION.values()}


def _contains(t: str, term: str, left_extra: str = "") -> bool:
    """Whole-word occurrence of term in t (t and term already folded)."""
    i = t.find(term)
    n = len(term)
    while i >= 0:
        ok_left = i == 0 or not (_w(t[i - 1]) or t[i - 1] in left_extra)
        j = i + n
        if ok_left and (j >= len(t) or not _w(t[j])):
            return True
        i = t.find(term, i + 1)
    return False


def topics_of(text: str, author_handle: str | None = None) -> list[str]:
    """Sorted topics a post belongs to, by the watchlist rules."""
    t = fold(text)
    found = set()
    for term, topic, left in _TERMS:
        if topic not in found and term in t and _contains(t, term, left):
            found.add(topic)
    if author_handle and author_handle.lower() in _INSTITUTION_HANDLES:
        found.add(INSTITUTION_TOPIC)
    for topic, excl in _EXCL.items():
        if topic in found and any(_contains(t, e) for e in excl):
            found.discard(topic)
    return sorted(found)


# --------------------------------------------------------------------------------------
# Text fragments. One fragment per line. Opinion clauses start lowercase and carry the
# sentiment (clear lexicon words for positive/negative, facts for neutral).
# --------------------------------------------------------------------------------------
def _L(s: str) -> list[str]:
    return [x.strip() for x in s.strip().split("\n") if x.strip()]


T = {}
T["fr"] = {
    "frames": _L("""
        {o}{n} : {p}.
        {N} : {p}.
        {P} ({n}).
        {N} ? {P}.
        {o}{n}, {p}.
        Concernant {n} : {p}.
        {o}sur {n}, {p}.
        {N}... {p}.
        Pour {n}, {p}.
        {P}. Sujet : {n}.
        {o}{n} => {p}.
    """),
    "open": _L("""
        Franchement,
        Bon,
        Alors,
        Petite réflexion du soir :
        Entre nous,
        Honnêtement,
        Je le dis comme je le pense :
        Vu à la télé ce matin :
        Au boulot on en parlait :
        Sans vouloir faire mon vieux con,
        Thread 🧵
        Ok donc
        Pour résumer :
        Mine de rien,
        Je reviens de la séance et
        Mon avis perso :
        Bref,
        Pour ceux qui suivent :
        En lisant la presse ce matin,
        Au café du coin on dit que
        Ce midi à la cantine :
        Dites,
        Perso,
        À chaud :
        Je sais pas vous mais
        Rappel utile :
        Petit point rapide :
        Comme d'hab,
    """),
    "pos": _L("""
        c'est une excellente nouvelle pour Bruxelles
        bravo à tous ceux qui ont bossé dessus
        enfin une mesure intelligente
        je suis vraiment ravi du résultat
        super travail, ça fait plaisir
        c'est un vrai progrès, bien joué
        génial, on avance enfin dans le bon sens
        top, exactement ce qu'il fallait
        une belle réussite collective, merci
        j'avoue que je suis agréablement surprise
        excellent compromis, chapeau
        ça donne de l'espoir, c'est positif
        c'est bien pensé et courageux
        très bonne idée, je soutiens à fond
        bonne nouvelle pour les familles
        un texte ambitieux et solide, bravo
        enfin du concret, je suis content
        c'est clair, efficace, bien ficelé
        merci pour ce travail remarquable
        franchement réussi, rien à redire
        une avancée formidable pour la Région
        j'adore l'idée, vraiment top
        content de voir que ça bouge enfin
        ça va dans le bon sens, tant mieux
        magnifique boulot des équipes
        impressionnant, bravo les élus
        une bonne surprise, je suis fan
    """),
    "neg": _L("""
        c'est une honte absolue
        quel scandale, franchement
        encore une catastrophe annoncée
        c'est nul et mal préparé
        lamentable, comme d'habitude
        je suis profondément déçu
        totalement inacceptable
        ridicule, ça ne tient pas debout
        un désastre pour les Bruxellois
        du grand n'importe quoi
        c'est absurde et injuste
        on se moque de nous, c'est honteux
        quel gâchis, vraiment triste
        c'est pire que prévu, terrible
        une erreur grave, et personne ne réagit
        c'est mauvais sur toute la ligne
        je suis furieux, c'est révoltant
        encore un échec, pathétique
        c'est inquiétant et mal fichu
        une trahison pure et simple
        catastrophique pour les petits revenus
        c'est lamentable de voir ça
        un fiasco total
        ça me dégoûte, franchement
        honteux, on mérite mieux
        du bricolage, c'est affligeant
        déception totale, c'est raté
    """),
    "neu": _L("""
        le vote est prévu jeudi en séance plénière
        le texte complet est disponible en ligne
        la commission en discute mardi à 14h
        le document fait 84 pages
        la séance sera retransmise en direct
        le débat reprend la semaine prochaine
        trois amendements ont été déposés
        la version finale sera publiée vendredi
        le ministre présentera les chiffres demain
        les auditions commencent lundi
        le calendrier a été communiqué aux groupes
        la discussion générale dure deux jours
        on attend l'avis du Conseil d'État
        les chiffres sont sur le site officiel
        le rapport sera présenté en commission
        le texte passe en deuxième lecture
        la séance commence à 9h30
        il y aura un vote nominatif
        la presse a reçu le dossier ce matin
        la réunion est publique
        le résumé tient en une page
        le débat est prévu en fin de session
        les groupes ont jusqu'à vendredi pour amender
        l'ordre du jour a été publié hier
        le vote final est attendu avant Noël
        la question sera posée en commission mercredi
        les documents sont en français et en néerlandais
    """),
    "detail": _L("""
        Le vote est prévu jeudi.
        J'en ai parlé avec mes voisins hier.
        Lien vers le document plus bas.
        La séance reprend à 14h.
        On en saura plus demain.
        Ma fille me posait la question ce matin.
        Trois partis doivent encore se prononcer.
        C'était dans Le Soir aujourd'hui.
        BX1 en parlait au journal de 18h.
        Il reste deux semaines de discussion.
        J'ai lu le texte en entier ce week-end.
        Le débat a duré plus de trois heures.
        La commission se réunit mardi.
        Les chiffres circulent depuis lundi.
        J'ai posé la question à mon échevin.
        Rien n'est encore voté.
        Ça concerne toute la Région.
        Les 19 communes sont concernées.
        Un recours est possible.
        Le texte arrive en plénière bientôt.
        Ma voisine travaille dans le secteur.
        J'ai regardé la retransmission en direct.
        Mon syndicat a publié une analyse.
        Il y a eu une réunion d'info à Saint-Gilles.
        C'est la troisième version du texte.
        Plus de 200 personnes étaient présentes.
    """),
    "close": _L("""
        À suivre.
        Affaire à suivre...
        On verra bien.
        Bonne soirée à tous.
        Voilà voilà.
        Vos avis ?
        J'dis ça, j'dis rien.
        On en reparle.
        Fin du thread.
        Bref.
        Je vous tiens au courant.
        Qu'en pensez-vous ?
        #JeDisÇaJeDisRien
        Rendez-vous jeudi.
        Partagez si vous êtes d'accord.
        Plus d'infos bientôt.
        C'est tout pour aujourd'hui.
        Bonne journée quand même.
        RT apprécié.
        Je file au boulot.
        Source en commentaire.
        À méditer.
        Mon humble avis.
        Ça mérite un débat.
        On reste attentifs.
    """),
    "np": {
        "parlement": _L("""
            le Parlement bruxellois
            le Parlement de la Région de Bruxelles-Capitale
            #ParlBXL
            la séance plénière du Parlement bruxellois
            les députés du Parlement bruxellois
            la commission du Parlement bruxellois
            le président du Parlement bruxellois
            l'hémicycle du #ParlBXL
            la majorité au Parlement bruxellois
            l'opposition au Parlement bruxellois
            le règlement du Parlement bruxellois
            la journée portes ouvertes du Parlement bruxellois
            le site du #ParlBXL
        """),
        "budget-2027": _L("""
            le budget régional
            le budget 2027
            le projet de budget régional
            le budget régional 2027
            #BudgetBXL
            le budget 2027 de la Région
            les chiffres du budget régional
            le vote du budget régional
            le débat sur le budget 2027
            le #BudgetBXL
            le déficit prévu dans le budget régional
            la note sur le budget 2027
        """),
        "climate-bill": _L("""
            l'ordonnance climat
            l'ordonnance sur le climat
            la future ordonnance climat
            #ClimatBXL
            le texte de l'ordonnance climat
            le projet d'ordonnance sur le climat
            les objectifs de l'ordonnance climat
            l'ordonnance climat bruxelloise
            le vote de l'ordonnance climat
            la nouvelle ordonnance sur le climat
            le débat #ClimatBXL
            les amendements à l'ordonnance climat
        """),
        "agora": _L("""
            le panel citoyen
            les panels citoyens
            #AgoraBXL
            le panel citoyen sur la mobilité
            les recommandations du panel citoyen
            le tirage au sort des panels citoyens
            la campagne #AgoraBXL
            le nouveau panel citoyen
            les panels citoyens du Parlement
            le rapport du panel citoyen
        """),
    },
    "also": _L("""
        Et {n} dans tout ça ?
        Voir aussi {n}.
        À relier avec {n}.
        (cf. {n})
        Ça touche aussi {n}.
        Sujet lié : {n}.
    """),
    "off": _L("""
        les travaux rue de la Loi
        le tram 7
        le match d'Anderlecht ce week-end
        la météo de ce week-end
        le nouveau resto vietnamien à Ixelles
        le budget participatif de Schaerbeek
        le marché de Noël
        la grève à la STIB
        les embouteillages sur la petite ceinture
        le piétonnier
        le Parlement européen
        le parlement fédéral
        les pistes cyclables à Etterbeek
        le prix des loyers
        le musée Kanal
        les frites de la place Flagey
        le concert à Forest National
        l'Union Saint-Gilloise
        la pluie qui ne s'arrête pas
        les Diables rouges
        la fermeture du tunnel Léopold II
        le budget de la commune d'Uccle
        les nouvelles poubelles orange
        le festival de jazz
        la zone 30
        le bruit des avions au-dessus de Woluwe
        le climat de ce mois de novembre
        les soldes
        le budget des ménages en fin de mois
    """),
    "reply": _L("""
        Justement,
        Pour info,
        Ah oui,
        Je vois,
        Hmm,
        En fait,
        Euh,
        Alors là,
        Comme tu dis,
        Sérieusement,
        Attends,
        Oui mais
        Pas sûr,
        Ok,
        Tiens,
        Je réponds vite :
        De mon côté,
        Ici aussi,
        Ah bon ?
        Intéressant,
    """),
    "question": _L("""
        {h} {N} : quand a lieu le vote ?
        {h} je cherche {n} : où peut-on lire le texte complet ?
        {h} comment suivre la séance plénière en direct ?
        {h} {N} : est-ce que la séance est publique ?
        {h} bonjour, à quelle heure commence la commission ?
        {h} où trouver l'ordre du jour de jeudi ?
        {h} {N} : il y aura une version en néerlandais ?
        {h} peut-on assister aux débats sans inscription ?
        {h} quand le vote final est-il prévu pour {n} ?
        {h} {N} : où trouver le compte rendu ?
        {h} y a-t-il une retransmission ce soir ?
        {h} comment participer à {n} ?
        {h} bonjour, le parking est-il accessible aux visiteurs ?
        {h} vous publiez les amendements où exactement ?
        {h} {N} : c'est reporté ou pas ?
    """),
    "insult": _L("""
        {N} : bande d'incapables, vous ne servez à rien.
        {h} {N} ? Une bande de clowns payés avec nos impôts.
        Les guignols du {pn} ont encore frappé 🤡
        {N}... vous êtes vraiment des nuls, démissionnez.
        {h} bande de bras cassés, {n} c'est du vol.
        {N} : des amateurs incompétents, rien d'autre.
        Ces profiteurs du {pn} se foutent de nous.
        {h} vous êtes une honte, {n} le prouve encore.
        {N}. Quelle bande de menteurs.
        Les élus du {pn} ? Des parasites.
    """),
    "spam": _L("""
        🚀 Gagnez jusqu'à 500€/jour avec le trading crypto, méthode 100% gratuite ! {t} {u}
        🎁 CONCOURS : un iPhone 16 à gagner, il suffit de cliquer ! {t} {u}
        💰 Investissez 50€, récupérez 2000€ en une semaine. Places limitées {t} {u}
        🔥 Airdrop exclusif du token BXLCoin, inscrivez-vous vite {t} {u}
        Je suis devenue riche grâce au bitcoin, voici ma méthode 👉 {u} {t}
        🎉 Giveaway : 1000€ en cartes cadeaux, RT + follow {t} {u}
        ✅ Revenus passifs garantis, écrivez-moi en DM {t} {u}
        💎 Le prochain x100 crypto, ne ratez pas ça {t} {u}
    """),
    "announce": _L("""
        📢 Séance plénière ce jeudi à 14h : à l'ordre du jour, {n}. Suivez-la en direct sur notre site. #ParlBXL
        🗓️ Cette semaine au #ParlBXL : {n} en commission mardi, vote en plénière jeudi.
        📄 Les documents relatifs à {n} sont en ligne. #ParlBXL
        🎥 Revoyez le débat de ce matin sur {n}. #ParlBXL
        👥 Le Parlement bruxellois ouvre ses portes ce samedi de 10h à 17h. Entrée libre ! #ParlBXL
        📢 Appel à candidatures : participez au prochain panel citoyen du #ParlBXL. Tirage au sort en décembre.
        ✅ Le Parlement bruxellois a adopté ce midi {n}. Résultats du vote sur notre site.
        ℹ️ Le Parlement bruxellois publie aujourd'hui son rapport annuel. #ParlBXL
    """),
    "news": _L("""
        🔴 INFO | {N} : le gouvernement revoit sa copie. Tous les détails sur notre site.
        📰 {N} : ce que contient le texte, point par point.
        🔴 DIRECT | Suivez avec nous les débats sur {n}.
        📰 Mobilité : la fermeture du tunnel Léopold II prolongée de deux semaines.
        📰 {N} : les chiffres clés à retenir.
        🔴 Trafic perturbé sur la petite ceinture ce matin, prévoyez du retard.
    """),
    "entry": "🔴 EXCLUSIF | L'ordonnance climat pourrait être votée dès la semaine prochaine : ce que contient vraiment le texte et qui devra payer. Notre enquête ⬇️ #ClimatBXL",
    "exclude": _L("""
        Ne pas confondre le budget participatif de {c} et le budget régional : {p}.
        {C} lance son budget participatif, rien à voir avec le #BudgetBXL. {P}.
        Le budget participatif de {c} ouvre ses votes, pendant que le budget 2027 coince au Parlement.
        Budget participatif à {c} : {p}. Le budget régional, c'est une autre histoire.
    """),
    "tags": _L("""
        #Bruxelles
        #Brussels
        #politique
        #belgique
        #BXL
        #climat
        #budget
        #démocratie
        #mobilité
        #Ixelles
    """),
    "link_text": ["Plus d'infos :", "Le lien :", "À lire :", "Source :", "👉"],
}
T["nl"] = {
    "frames": _L("""
        {o}{n}: {p}.
        {N}: {p}.
        Over {n}: {p}.
        {P} ({n}).
        {N}? {P}.
        {o}wat {n} betreft: {p}.
        {N}... {p}.
        Even over {n}: {p}.
        {P}. Ik heb het over {n} natuurlijk.
        {o}{n}, {p}.
    """),
    "open": _L("""
        Eerlijk gezegd,
        Tja,
        Nou,
        Even tussendoor:
        Onder ons,
        Kort samengevat:
        Gezien op het nieuws:
        Op het werk ging het erover:
        Mijn mening:
        Draadje 🧵
        Oké dus
        Toch even kwijt:
        Voor wie het volgt:
        Net terug van de zitting en
        Vanochtend in de krant:
        Zonder flauwekul:
        Ik weet niet hoe het met jullie zit, maar
        Zeg,
        Persoonlijk vind ik
        Snel puntje:
        Zoals altijd,
        Herinnering:
        Bij de koffie vanochtend:
        Tussen pot en pint:
        Enfin,
        Kijk,
    """),
    "pos": _L("""
        dit is uitstekend nieuws voor Brussel
        goed gedaan, proficiat aan iedereen
        eindelijk een verstandige maatregel
        ik ben echt blij met het resultaat
        super werk, fijn om te zien
        een echte vooruitgang, knap
        geweldig, eindelijk de goede richting
        top, precies wat nodig was
        een mooi succes, bedankt
        aangenaam verrast, moet ik zeggen
        sterk compromis, chapeau
        dit geeft hoop, heel positief
        goed doordacht en moedig
        prima idee, ik steun het volledig
        goed nieuws voor de gezinnen
        een ambitieuze en degelijke tekst, bravo
        eindelijk iets concreets, tevreden
        helder, efficiënt en goed uitgewerkt
        dank voor dit prachtige werk
        echt geslaagd, niets op aan te merken
        een fantastische stap vooruit
        ik vind het een schitterend idee
        blij dat er eindelijk iets beweegt
        dat gaat de goede kant op, gelukkig
        prachtig werk van de ploeg
        indrukwekkend, goed bezig
        een leuke verrassing, ik ben fan
    """),
    "neg": _L("""
        dit is een absolute schande
        wat een schandaal, echt
        weer een ramp in de maak
        slecht voorbereid en waardeloos
        belachelijk, zoals altijd
        ik ben diep teleurgesteld
        volstrekt onaanvaardbaar
        absurd, het slaat nergens op
        een drama voor de Brusselaars
        complete onzin
        onrechtvaardig en ronduit slecht
        ze lachen ons uit, schandalig
        wat een verspilling, triest
        erger dan verwacht, vreselijk
        een zware fout en niemand reageert
        slecht over de hele lijn
        ik ben woedend, dit is stuitend
        weer een mislukking, zielig
        zorgwekkend en slordig
        puur verraad
        rampzalig voor de kleine inkomens
        treurig om te zien
        een totale flop
        ik walg ervan, echt
        beschamend, we verdienen beter
        prutswerk, bedroevend
        totale ontgoocheling, mislukt
    """),
    "neu": _L("""
        de stemming is donderdag in de plenaire
        de volledige tekst staat online
        de commissie bespreekt het dinsdag om 14u
        het document telt 84 pagina's
        de zitting wordt live uitgezonden
        het debat gaat volgende week verder
        er zijn drie amendementen ingediend
        de definitieve versie komt vrijdag
        de minister stelt morgen de cijfers voor
        de hoorzittingen beginnen maandag
        de fracties hebben de planning gekregen
        de algemene bespreking duurt twee dagen
        het advies van de Raad van State wordt verwacht
        de cijfers staan op de officiële website
        het verslag wordt in de commissie voorgesteld
        de tekst gaat naar een tweede lezing
        de zitting begint om 9u30
        er komt een hoofdelijke stemming
        de pers kreeg het dossier vanochtend
        de vergadering is openbaar
        de samenvatting past op één pagina
        het debat staat gepland aan het einde van de sessie
        amendementen kunnen tot vrijdag
        de agenda is gisteren gepubliceerd
        de eindstemming wordt voor Kerstmis verwacht
        de vraag komt woensdag in de commissie
        de documenten zijn in het Nederlands en het Frans
    """),
    "detail": _L("""
        De stemming is donderdag.
        Gisteren nog met de buren over gehad.
        Link naar het document hieronder.
        De zitting herneemt om 14u.
        Morgen weten we meer.
        Mijn dochter vroeg er vanochtend naar.
        Drie partijen moeten zich nog uitspreken.
        Het stond vandaag in Bruzz.
        Het kwam op het journaal van 19u.
        Er zijn nog twee weken discussie.
        Ik heb de tekst dit weekend helemaal gelezen.
        Het debat duurde meer dan drie uur.
        De commissie vergadert dinsdag.
        De cijfers circuleren sinds maandag.
        Ik heb het aan mijn schepen gevraagd.
        Er is nog niets gestemd.
        Het gaat over het hele Gewest.
        Alle 19 gemeenten zijn betrokken.
        Een beroep is mogelijk.
        De tekst komt binnenkort in de plenaire.
        Mijn buurvrouw werkt in de sector.
        Ik heb de livestream bekeken.
        Mijn vakbond heeft een analyse gepubliceerd.
        Er was een infovergadering in Jette.
        Dit is al de derde versie van de tekst.
        Er waren meer dan 200 mensen.
    """),
    "close": _L("""
        Wordt vervolgd.
        We zien wel.
        Fijne avond allemaal.
        Zo, dat is gezegd.
        Jullie mening?
        Ik zeg maar wat.
        We spreken elkaar nog.
        Einde draadje.
        Enfin.
        Ik hou jullie op de hoogte.
        Wat denken jullie?
        Afspraak donderdag.
        Delen als je akkoord gaat.
        Binnenkort meer info.
        Dat was het voor vandaag.
        Toch een fijne dag.
        RT gewaardeerd.
        Ik moet gaan werken.
        Bron in de reacties.
        Om over na te denken.
        Mijn bescheiden mening.
        Verdient een debat.
        We blijven alert.
        Tot later.
        Afwachten maar.
    """),
    "np": {
        "parlement": _L("""
            het Brussels Parlement
            het Brussels Hoofdstedelijk Parlement
            #ParlBXL
            de plenaire van het Brussels Parlement
            de parlementsleden van het Brussels Parlement
            de commissie van het Brussels Parlement
            de voorzitter van het Brussels Parlement
            het halfrond van het #ParlBXL
            de meerderheid in het Brussels Parlement
            de oppositie in het Brussels Parlement
            de opendeurdag van het Brussels Parlement
            de website van het #ParlBXL
        """),
        "budget-2027": _L("""
            de gewestbegroting
            de begroting 2027
            de Brusselse gewestbegroting
            #Begroting2027
            de nieuwe gewestbegroting
            het debat over de begroting 2027
            de cijfers van de gewestbegroting
            de stemming over de gewestbegroting
            #BudgetBXL
            het tekort in de begroting 2027
            de ontwerp-gewestbegroting
            de nota bij de begroting 2027
        """),
        "climate-bill": _L("""
            de klimaatordonnantie
            de Brusselse klimaatwet
            de klimaatwet
            #KlimaatBXL
            de nieuwe klimaatordonnantie
            de tekst van de klimaatordonnantie
            de doelstellingen van de klimaatwet
            de stemming over de klimaatordonnantie
            de amendementen op de klimaatwet
            het debat #KlimaatBXL
            #ClimatBXL
        """),
        "agora": _L("""
            het burgerpanel
            de burgerpanels
            #AgoraBXL
            het burgerpanel over mobiliteit
            de aanbevelingen van het burgerpanel
            de loting voor de burgerpanels
            de campagne #AgoraBXL
            het nieuwe burgerpanel
            het verslag van het burgerpanel
        """),
    },
    "also": _L("""
        En {n} in dit verhaal?
        Zie ook {n}.
        Te linken aan {n}.
        (cf. {n})
        Raakt ook aan {n}.
        Verwant: {n}.
    """),
    "off": _L("""
        de werken in de Wetstraat
        tram 7
        de match van Anderlecht dit weekend
        het weer dit weekend
        het nieuwe Vietnamese restaurant in Elsene
        de kerstmarkt
        de staking bij de MIVB
        de files op de kleine ring
        de voetgangerszone
        het Europees Parlement
        het federaal parlement
        de fietspaden in Etterbeek
        de huurprijzen
        het Kanal-museum
        de frieten op het Flageyplein
        het concert in Vorst Nationaal
        Union Sint-Gillis
        de regen die maar niet stopt
        de Rode Duivels
        de sluiting van de Leopold II-tunnel
        de begroting van de gemeente Ukkel
        de nieuwe oranje vuilniszakken
        het jazzfestival
        de zone 30
        het vliegtuiglawaai boven Woluwe
        het klimaat deze novembermaand
        de solden
        de klimaatwetgeving in Nederland
    """),
    "reply": _L("""
        Inderdaad,
        Ter info,
        Ah ja,
        Ik zie het,
        Hmm,
        Eigenlijk,
        Euh,
        Nou,
        Zoals je zegt,
        Serieus,
        Wacht even,
        Ja maar
        Niet zeker,
        Oké,
        Kijk,
        Snel antwoord:
        Van mijn kant,
        Hier ook,
        O ja?
        Interessant,
    """),
    "question": _L("""
        {h} {N}: wanneer is de stemming?
        {h} ik zoek {n}: waar kan ik de volledige tekst lezen?
        {h} hoe kan ik de plenaire live volgen?
        {h} {N}: is de zitting openbaar?
        {h} hallo, hoe laat begint de commissie?
        {h} waar vind ik de agenda van donderdag?
        {h} {N}: komt er een Franse versie?
        {h} kan je de debatten bijwonen zonder inschrijving?
        {h} wanneer is de eindstemming over {n}?
        {h} {N}: waar vind ik het verslag?
        {h} is er vanavond een livestream?
        {h} hoe kan ik deelnemen aan {n}?
        {h} is er parking voor bezoekers?
        {h} waar publiceren jullie de amendementen precies?
        {h} {N}: uitgesteld of niet?
    """),
    "insult": _L("""
        {N}: stelletje prutsers, jullie zijn nergens goed voor.
        {h} {N}? Een bende clowns betaald met ons belastinggeld.
        De clowns van het {pn} zijn weer bezig 🤡
        {N}... echt nutteloos, treed af.
        {h} stelletje amateurs, {n} is gewoon diefstal.
        {N}: incompetente zakkenvullers.
        Die profiteurs van het {pn} lachen ons uit.
        {h} jullie zijn een schande, {n} bewijst het weer.
        {N}. Wat een bende leugenaars.
        De verkozenen van het {pn}? Parasieten.
    """),
    "spam": _L("""
        🚀 Verdien tot €500 per dag met crypto trading, 100% gratis methode! {t} {u}
        🎁 WEDSTRIJD: win een iPhone 16, gewoon klikken! {t} {u}
        💰 Investeer €50, krijg €2000 terug in een week. Beperkte plaatsen {t} {u}
        🔥 Exclusieve airdrop van BXLCoin, schrijf je snel in {t} {u}
        Ik werd rijk met bitcoin, dit is mijn methode 👉 {u} {t}
        🎉 Giveaway: €1000 aan cadeaubonnen, RT + volgen {t} {u}
        ✅ Gegarandeerd passief inkomen, stuur me een DM {t} {u}
        💎 De volgende x100 crypto, mis het niet {t} {u}
    """),
    "announce": _L("""
        📢 Plenaire vergadering donderdag om 14u: op de agenda {n}. Volg live via onze website. #ParlBXL
        🗓️ Deze week in het #ParlBXL: {n} dinsdag in de commissie, stemming donderdag in de plenaire.
        📄 De documenten over {n} staan online. #ParlBXL
        🎥 Herbekijk het debat van vanochtend over {n}. #ParlBXL
        👥 Het Brussels Parlement opent zaterdag zijn deuren van 10u tot 17u. Gratis toegang! #ParlBXL
        📢 Oproep: neem deel aan het volgende burgerpanel van het #ParlBXL. Loting in december.
        ✅ Het Brussels Parlement heeft vanmiddag {n} aangenomen. Resultaten op onze website.
        ℹ️ Het Brussels Parlement publiceert vandaag zijn jaarverslag. #ParlBXL
    """),
    "exclude": _L("""
        Niet te verwarren: het budget participatif van {c} en de gewestbegroting. {P}.
        {C} start een budget participatif, los van de #Begroting2027. {P}.
    """),
    "tags": _L("""
        #Brussel
        #Brussels
        #politiek
        #België
        #BXL
        #klimaat
        #begroting
        #democratie
        #mobiliteit
        #Jette
    """),
    "link_text": ["Meer info:", "De link:", "Lezen:", "Bron:", "👉"],
}
T["en"] = {
    "frames": _L("""
        {o}{n}: {p}.
        {N}: {p}.
        On {n}: {p}.
        {P} ({n}).
        {N}? {P}.
        {o}re {n}, {p}.
        Thoughts on {n}: {p}.
        {N}... {p}.
        {P}. Talking about {n}, obviously.
        {o}{n} - {p}.
    """),
    "open": _L("""
        Honestly,
        Well,
        So,
        Quick thought:
        Between us,
        To be fair,
        Not gonna lie,
        Saw this on the news:
        At work today we talked about it:
        My two cents:
        Thread 🧵
        Ok so
        TL;DR:
        Funny enough,
        Just back from the session and
        Personal take:
        Anyway,
        For those following:
        Reading the papers this morning,
        Word on the street is
        At lunch today:
        Hey,
        Tbh,
        Hot take:
        Reminder:
        Quick update:
        As usual,
    """),
    "pos": _L("""
        this is excellent news for Brussels
        well done to everyone involved
        finally a smart move
        I'm really happy with the outcome
        great work, love to see it
        real progress, nicely done
        brilliant, finally heading the right way
        exactly what we needed, awesome
        a great success, thank you
        I'm pleasantly surprised
        a solid compromise, kudos
        this gives me hope, very positive
        well thought out and brave
        great idea, fully support it
        good news for families
        an ambitious and strong text, bravo
        finally something concrete, glad
        clear, effective and well crafted
        thanks for this wonderful work
        a real win, nothing to complain about
        a fantastic step forward
        I love this idea
        glad to see things moving at last
        a welcome change, good
        amazing job by the team
        impressive, well done
        a nice surprise, big fan
    """),
    "neg": _L("""
        this is an absolute disgrace
        what a scandal, seriously
        another disaster in the making
        badly prepared and useless
        pathetic, as usual
        I'm deeply disappointed
        completely unacceptable
        ridiculous, makes no sense
        terrible for people in Brussels
        total nonsense
        unfair and just bad
        they're mocking us, shameful
        what a waste, sad
        worse than expected, awful
        a serious mistake and nobody cares
        bad across the board
        I'm furious, this is outrageous
        another failure, pathetic
        worrying and sloppy
        a betrayal, plain and simple
        a catastrophe for low incomes
        depressing to watch
        a complete fiasco
        it disgusts me, honestly
        shameful, we deserve better
        amateurish and appalling
        a huge letdown, failed
    """),
    "neu": _L("""
        the vote is scheduled for Thursday in plenary
        the full text is available online
        the committee discusses it on Tuesday at 2pm
        the document is 84 pages long
        the session will be streamed live
        the debate resumes next week
        three amendments have been tabled
        the final version comes out on Friday
        the minister presents the figures tomorrow
        hearings start on Monday
        the groups received the timetable
        the general discussion lasts two days
        the Council of State opinion is expected
        the figures are on the official website
        the report will be presented in committee
        the text goes to a second reading
        the session starts at 9:30
        there will be a roll-call vote
        the press got the file this morning
        the meeting is public
        the summary fits on one page
        the debate is planned for the end of the session
        amendments can be filed until Friday
        the agenda was published yesterday
        the final vote is expected before Christmas
        the question comes up in committee on Wednesday
        documents are in French and Dutch
    """),
    "detail": _L("""
        The vote is on Thursday.
        Talked about it with my neighbours yesterday.
        Link to the document below.
        The session resumes at 2pm.
        We'll know more tomorrow.
        My daughter asked me about it this morning.
        Three parties still have to decide.
        It was in The Brussels Times today.
        It was on the evening news.
        Two more weeks of discussion.
        I read the whole text this weekend.
        The debate lasted over three hours.
        The committee meets on Tuesday.
        The figures have been around since Monday.
        I asked my local councillor.
        Nothing has been voted yet.
        It concerns the whole Region.
        All 19 municipalities are affected.
        An appeal is possible.
        The text reaches plenary soon.
        My neighbour works in the sector.
        I watched the livestream.
        My union published an analysis.
        There was an info evening in Etterbeek.
        This is the third version of the text.
        Over 200 people showed up.
    """),
    "close": _L("""
        Stay tuned.
        We'll see.
        Have a good evening all.
        That's it.
        Thoughts?
        Just saying.
        More later.
        End of thread.
        Anyway.
        I'll keep you posted.
        What do you think?
        See you Thursday.
        Share if you agree.
        More info soon.
        That's all for today.
        Have a nice day anyway.
        RTs appreciated.
        Off to work.
        Source in the replies.
        Food for thought.
        My humble opinion.
        Worth a debate.
        Watching closely.
        Cheers.
        Let's see what happens.
    """),
    "np": {
        "parlement": _L("""
            the Brussels Parliament
            Brussels Parliament
            #ParlBXL
            the plenary of the Brussels Parliament
            MPs of the Brussels Parliament
            the committee of the Brussels Parliament
            the Brussels Parlement
            the majority in the Brussels Parliament
            the opposition in the Brussels Parliament
            the open day at the Brussels Parliament
        """),
        "budget-2027": _L("""
            the regional budget
            the 2027 regional budget
            Brussels' regional budget
            #BudgetBXL
            the budget 2027 plan
            the debate on the regional budget
            the regional budget figures
            the vote on the regional budget
            the deficit in the regional budget
            the #BudgetBXL debate
        """),
        "climate-bill": _L("""
            the climate bill
            Brussels' climate bill
            the regional climate bill
            #ClimatBXL
            the new climate bill
            the text of the climate bill
            the targets of the climate bill
            the vote on the climate bill
            the #KlimaatBXL debate
            amendments to the climate bill
        """),
        "agora": _L("""
            the citizens' panel
            the Brussels citizens' panel
            #AgoraBXL
            the citizens' panel on mobility
            the recommendations of the citizens' panel
            the #AgoraBXL campaign
            the new citizens' panel
        """),
    },
    "also": _L("""
        And what about {n}?
        See also {n}.
        Linked to {n}.
        (cf. {n})
        This also affects {n}.
        Related: {n}.
    """),
    "off": _L("""
        the roadworks on Rue de la Loi
        tram 7
        the Anderlecht game this weekend
        the weather this weekend
        the new Vietnamese place in Ixelles
        the Christmas market
        the STIB strike
        traffic on the inner ring
        the pedestrian zone
        the European Parliament
        the federal parliament
        the bike lanes in Etterbeek
        rents in Brussels
        the Kanal museum
        the fries at Place Flagey
        the concert at Forest National
        Union Saint-Gilloise
        the rain that never stops
        the Red Devils
        the Leopold II tunnel closure
        the municipal budget of Uccle
        the new orange bin bags
        the jazz festival
        the 30 km/h zone
        plane noise over Woluwe
        the climate this November
        the sales
        the UK climate bills debate
    """),
    "reply": _L("""
        Exactly,
        FYI,
        Oh yes,
        I see,
        Hmm,
        Actually,
        Uh,
        Well,
        Like you said,
        Seriously,
        Wait,
        Yes but
        Not sure,
        Ok,
        Look,
        Quick answer:
        On my side,
        Same here,
        Really?
        Interesting,
    """),
    "question": _L("""
        {h} {N}: when is the vote?
        {h} looking for {n}: where can I read the full text?
        {h} how can I follow the plenary live?
        {h} {N}: is the session open to the public?
        {h} hi, what time does the committee start?
        {h} where do I find Thursday's agenda?
        {h} {N}: will there be an English summary?
        {h} can we attend the debates without registering?
        {h} when is the final vote on {n}?
        {h} {N}: where is the report?
        {h} is there a livestream tonight?
        {h} how do I take part in {n}?
        {h} is there visitor parking?
        {h} where exactly do you publish the amendments?
        {h} {N}: postponed or not?
    """),
    "insult": _L("""
        {N}: bunch of incompetents, you're useless.
        {h} {N}? A bunch of clowns paid with our taxes.
        The clowns of the {pn} are at it again 🤡
        {N}... truly useless, resign.
        {h} bunch of amateurs, {n} is theft.
        {N}: incompetent freeloaders.
        Those leeches in the {pn} are laughing at us.
        {h} you're a disgrace, {n} proves it again.
        {N}. What a bunch of liars.
        MPs of the {pn}? Parasites.
    """),
    "spam": _L("""
        🚀 Earn up to $500/day with crypto trading, 100% free method! {t} {u}
        🎁 CONTEST: win an iPhone 16, just click! {t} {u}
        💰 Invest $50, get $2000 back in a week. Limited spots {t} {u}
        🔥 Exclusive BXLCoin airdrop, sign up fast {t} {u}
        I got rich with bitcoin, here is my method 👉 {u} {t}
        🎉 Giveaway: $1000 in gift cards, RT + follow {t} {u}
        ✅ Guaranteed passive income, DM me {t} {u}
        💎 The next 100x crypto, don't miss it {t} {u}
    """),
    "exclude": _L("""
        Don't mix up the budget participatif in {c} with the regional budget. {P}.
    """),
    "tags": _L("""
        #Brussels
        #Bruxelles
        #politics
        #Belgium
        #BXL
        #climate
        #budget
        #democracy
        #EU
        #mobility
    """),
    "link_text": ["More:", "Link:", "Read:", "Source:", "👉"],
}
T["de"] = {
    "frames": _L("""
        {o}{n}: {p}.
        {N}: {p}.
        Thema {n}: {p}.
        {P} ({n}).
        {N}? {P}.
        Stichwort {n}: {p}.
        Zum Thema {n}: {p}.
        {N}... {p}.
        {o}{n} – {p}.
    """),
    "open": _L("""
        Ehrlich gesagt,
        Naja,
        Also,
        Kurzer Gedanke:
        Unter uns,
        Ganz ehrlich:
        Mal ehrlich,
        Heute in den Nachrichten:
        Im Büro war das Thema:
        Meine Meinung:
        Thread 🧵
        Ok also
        Kurz gesagt:
        Übrigens,
        Gerade aus der Sitzung zurück und
        Persönlich:
        Jedenfalls,
        Für alle, die es verfolgen:
        Beim Zeitunglesen heute früh:
        Aus europäischer Sicht:
        Beim Mittagessen:
        Sagt mal,
        Aus Brüssel berichtet:
        Spontan:
        Zur Erinnerung:
        Kurzes Update:
        Wie immer,
    """),
    "pos": _L("""
        das ist eine hervorragende Nachricht für Brüssel
        gut gemacht, Glückwunsch an alle
        endlich eine kluge Maßnahme
        ich bin wirklich froh über das Ergebnis
        super Arbeit, schön zu sehen
        ein echter Fortschritt, stark
        großartig, endlich die richtige Richtung
        genau das, was wir brauchten, toll
        ein schöner Erfolg, danke
        ich bin positiv überrascht
        ein guter Kompromiss, Respekt
        das macht Hoffnung, sehr positiv
        durchdacht und mutig
        tolle Idee, volle Unterstützung
        gute Nachricht für Familien
        ein ehrgeiziger und solider Text, bravo
        endlich etwas Konkretes, zufrieden
        klar, wirksam und gut gemacht
        danke für diese wunderbare Arbeit
        wirklich gelungen, nichts zu meckern
        ein fantastischer Schritt nach vorn
        ich finde die Idee großartig
        schön, dass sich endlich etwas bewegt
        ein Vorbild für ganz Europa, prima
        hervorragende Arbeit des Teams
        beeindruckend, gut gemacht
        eine angenehme Überraschung
    """),
    "neg": _L("""
        das ist eine absolute Schande
        was für ein Skandal, ehrlich
        schon wieder eine Katastrophe
        schlecht vorbereitet und nutzlos
        erbärmlich, wie immer
        ich bin zutiefst enttäuscht
        völlig inakzeptabel
        lächerlich, ergibt keinen Sinn
        schlimm für die Menschen in Brüssel
        kompletter Unsinn
        ungerecht und einfach schlecht
        die veräppeln uns, beschämend
        was für eine Verschwendung, traurig
        schlimmer als erwartet, furchtbar
        ein schwerer Fehler und keiner reagiert
        schlecht auf ganzer Linie
        ich bin wütend, das ist empörend
        wieder ein Versagen, peinlich
        besorgniserregend und schlampig
        ein glatter Verrat
        katastrophal für Geringverdiener
        traurig anzusehen
        ein totales Fiasko
        das widert mich an
        beschämend, wir verdienen Besseres
        Pfusch, einfach erbärmlich
        eine herbe Enttäuschung, gescheitert
    """),
    "neu": _L("""
        die Abstimmung ist für Donnerstag im Plenum geplant
        der vollständige Text ist online verfügbar
        der Ausschuss berät am Dienstag um 14 Uhr
        das Dokument hat 84 Seiten
        die Sitzung wird live übertragen
        die Debatte geht nächste Woche weiter
        drei Änderungsanträge wurden eingereicht
        die endgültige Fassung kommt am Freitag
        der Minister stellt morgen die Zahlen vor
        die Anhörungen beginnen am Montag
        die Fraktionen haben den Zeitplan erhalten
        die Generaldebatte dauert zwei Tage
        das Gutachten des Staatsrats wird erwartet
        die Zahlen stehen auf der offiziellen Website
        der Bericht wird im Ausschuss vorgestellt
        der Text geht in die zweite Lesung
        die Sitzung beginnt um 9:30 Uhr
        es gibt eine namentliche Abstimmung
        die Presse hat die Unterlagen heute früh bekommen
        die Sitzung ist öffentlich
        die Zusammenfassung passt auf eine Seite
        die Debatte ist zum Ende der Sitzungsperiode geplant
        Änderungen sind bis Freitag möglich
        die Tagesordnung wurde gestern veröffentlicht
        die Schlussabstimmung wird vor Weihnachten erwartet
        die Frage kommt am Mittwoch in den Ausschuss
        die Unterlagen gibt es auf Französisch und Niederländisch
    """),
    "detail": _L("""
        Abgestimmt wird am Donnerstag.
        Gestern mit den Nachbarn darüber gesprochen.
        Link zum Dokument unten.
        Die Sitzung geht um 14 Uhr weiter.
        Morgen wissen wir mehr.
        Meine Tochter hat mich heute früh danach gefragt.
        Drei Parteien müssen sich noch äußern.
        Stand heute im Grenz-Echo.
        Kam in den Abendnachrichten.
        Noch zwei Wochen Diskussion.
        Ich habe den Text am Wochenende ganz gelesen.
        Die Debatte dauerte über drei Stunden.
        Der Ausschuss tagt am Dienstag.
        Die Zahlen kursieren seit Montag.
        Ich habe meinen Gemeinderat gefragt.
        Noch ist nichts beschlossen.
        Es betrifft die ganze Region.
        Alle 19 Gemeinden sind betroffen.
        Eine Klage ist möglich.
        Der Text kommt bald ins Plenum.
        Meine Nachbarin arbeitet in der Branche.
        Ich habe den Livestream geschaut.
        Meine Gewerkschaft hat eine Analyse veröffentlicht.
        Auch in Berlin wird das beobachtet.
        Das ist schon die dritte Fassung.
        Über 200 Leute waren da.
    """),
    "close": _L("""
        Fortsetzung folgt.
        Mal sehen.
        Schönen Abend allerseits.
        So viel dazu.
        Eure Meinung?
        Nur so ein Gedanke.
        Mehr später.
        Ende des Threads.
        Jedenfalls.
        Ich halte euch auf dem Laufenden.
        Was meint ihr?
        Bis Donnerstag.
        Teilen, wenn ihr zustimmt.
        Bald mehr Infos.
        Das war's für heute.
        Trotzdem einen schönen Tag.
        RT erwünscht.
        Ab zur Arbeit.
        Quelle in den Antworten.
        Zum Nachdenken.
        Meine bescheidene Meinung.
        Verdient eine Debatte.
        Wir bleiben dran.
        Grüße aus Eupen.
        Abwarten.
    """),
    "np": {
        "parlement": _L("""
            Brüsseler Parlament
            das Brüsseler Parlament
            #ParlBXL
            Plenum im Brüsseler Parlament
            Abgeordnete im Brüsseler Parlament
            Ausschuss im Brüsseler Parlament
            Mehrheit im Brüsseler Parlament
            Opposition im Brüsseler Parlament
        """),
        "budget-2027": _L("""
            Haushalt 2027
            Brüsseler Haushalt 2027
            Haushalt 2027 der Region Brüssel
            #BudgetBXL
            #Begroting2027
            Defizit im Haushalt 2027
            Debatte über den Haushalt 2027
            Zahlen zum Haushalt 2027
        """),
        "climate-bill": _L("""
            Klimagesetz
            Brüsseler Klimagesetz
            Klimagesetz der Region Brüssel
            #ClimatBXL
            #KlimaatBXL
            neues Klimagesetz in Brüssel
            Abstimmung über das Klimagesetz
            Ziele im Klimagesetz
            Änderungen am Klimagesetz
        """),
    },
    "also": _L("""
        Und {n}?
        Siehe auch {n}.
        Hängt zusammen mit {n}.
        (vgl. {n})
        Betrifft auch {n}.
    """),
    "off": _L("""
        Baustellen in der Rue de la Loi
        Tram 7
        Anderlecht am Wochenende
        Wetter am Wochenende
        das neue vietnamesische Restaurant in Ixelles
        Weihnachtsmarkt
        Streik bei der STIB
        Stau auf dem kleinen Ring
        Fußgängerzone
        das Europäische Parlament
        das föderale Parlament
        Radwege in Etterbeek
        Mieten in Brüssel
        Kanal-Museum
        Pommes am Place Flagey
        Konzert in Forest National
        Union Saint-Gilloise
        Dauerregen
        Rote Teufel
        Sperrung des Leopold-II-Tunnels
        Haushalt der Gemeinde Uccle
        die neuen orangefarbenen Müllsäcke
        Jazzfestival
        Tempo 30
        Fluglärm über Woluwe
        Klima im November
        Ausverkauf
        Debatte über Klimagesetze in Deutschland
        Haushalt 2026 der Stadt Köln
    """),
    "reply": _L("""
        Genau,
        Zur Info,
        Ah ja,
        Verstehe,
        Hmm,
        Eigentlich,
        Äh,
        Naja,
        Wie du sagst,
        Im Ernst,
        Moment,
        Ja aber
        Nicht sicher,
        Ok,
        Schau,
        Kurze Antwort:
        Meinerseits,
        Hier auch,
        Echt?
        Interessant,
    """),
    "question": _L("""
        {h} {N}: wann ist die Abstimmung?
        {h} suche {n}: wo kann ich den vollständigen Text lesen?
        {h} wie kann ich das Plenum live verfolgen?
        {h} {N}: ist die Sitzung öffentlich?
        {h} hallo, wann beginnt der Ausschuss?
        {h} wo finde ich die Tagesordnung für Donnerstag?
        {h} {N}: gibt es eine deutsche Zusammenfassung?
        {h} kann man ohne Anmeldung zuschauen?
        {h} wann ist die Schlussabstimmung zum Thema {n}?
        {h} {N}: wo ist der Bericht?
        {h} gibt es heute Abend einen Livestream?
        {h} {N}: verschoben oder nicht?
    """),
    "insult": _L("""
        {N}: Haufen Unfähiger, ihr seid nutzlos.
        {h} {N}? Clowns, bezahlt mit unseren Steuern.
        Die Clowns vom {pn} schon wieder 🤡
        {N}... völlig nutzlos, tretet zurück.
        {h} ihr Amateure, {n} ist Diebstahl.
        {N}: unfähige Abkassierer.
        {h} ihr seid eine Schande, {n} beweist es wieder.
        {N}. Was für Lügner.
    """),
    "spam": _L("""
        🚀 Bis zu 500€ am Tag mit Krypto-Trading, 100% gratis Methode! {t} {u}
        🎁 GEWINNSPIEL: ein iPhone 16 gewinnen, einfach klicken! {t} {u}
        💰 50€ investieren, 2000€ in einer Woche zurück. Begrenzte Plätze {t} {u}
        🔥 Exklusiver BXLCoin-Airdrop, schnell anmelden {t} {u}
        Ich wurde reich mit Bitcoin, hier meine Methode 👉 {u} {t}
        🎉 Verlosung: 1000€ in Gutscheinen, RT + folgen {t} {u}
    """),
    "exclude": _L("""
        Nicht verwechseln: budget participatif in {c} und Haushalt 2027. {P}.
    """),
    "tags": _L("""
        #Brüssel
        #Brussels
        #Politik
        #Belgien
        #EU
        #Klima
        #Haushalt
        #Demokratie
        #Europa
        #Ostbelgien
    """),
    "link_text": ["Mehr:", "Link:", "Lesen:", "Quelle:", "👉"],
}
# the institution's name as used in insult templates ("le {pn}") -- not a topic keyword
_PN = {"fr": ["Parlement", "parlement régional", "Parlement (#ParlBXL)", "Parlement bruxellois"],
       "nl": ["Parlement", "Brussels Parlement", "parlement (#ParlBXL)"],
       "en": ["Parliament", "Brussels Parliament", "parliament (#ParlBXL)"],
       "de": ["Parlament", "Brüsseler Parlament", "Parlament (#ParlBXL)"]}
COMMUNES = ["Schaerbeek", "Forest", "Jette", "Saint-Gilles", "Molenbeek", "Koekelberg",
            "Watermael-Boitsfort", "Ganshoren", "Berchem-Sainte-Agathe", "Saint-Josse",
            "Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre"]
EMOJI = ["🙂", "😡", "👏", "🤔", "😤", "💪", "🙄", "😅", "🔥", "👀", "😬", "🌱", "💶", "🏛️",
         "🤷", "😂", "😢", "✊", "📣", "🇧🇪", "🚲", "☕", "🙏", "💚", "😮"]
LINK_HOSTS = ["https://bx1.be/news/", "https://www.bruzz.be/nieuws/", "https://www.lesoir.be/",
              "https://www.rtbf.be/article/", "https://www.vrt.be/vrtnws/nl/",
              "https://www.brusselstimes.com/", "https://www.lalibre.be/belgique/",
              "https://www.standaard.be/cnt/", "https://www.parlement.brussels/doc/",
              "https://www.politico.eu/article/", "https://grenzecho.net/artikel/"]
SPAM_HOSTS = ["https://bit.ly/", "https://tinyurl.com/", "https://cutt.ly/", "https://t.ly/"]
MP_HANDLES = ["@s_vandenbroeck", "@marie_lejeune_mp", "@ahmed_elk_bxl", "@j_desmet_deputee",
              "@tom_peeters_bxl", "@clara_dubois", "@k_janssens_mp", "@y_benali",
              "@l_verhulst", "@nathalie_renard_bxl", "@p_goossens", "@f_mertens_deputee"]

# author names (handles) -- none of these may contain a topic term
_FIRST = ["marie", "jan", "sophie", "pieter", "nadia", "thomas", "lea", "bram", "karim",
          "julie", "wout", "emma", "lucas", "anke", "samir", "claire", "joris", "ines",
          "david", "elke", "yasmine", "hugo", "lotte", "omar", "camille", "stijn", "sarah",
          "max", "anna", "felix", "laura", "koen", "amina", "paul", "lisa", "mehdi", "zoe",
          "jonas", "chloe", "ben", "ruth", "luc", "hanna", "tim", "eva", "nico", "fatima"]
_LAST = ["dupont", "peeters", "janssens", "lambert", "maes", "dubois", "claes", "martin",
         "wouters", "leroy", "mertens", "simon", "willems", "laurent", "goossens", "renard",
         "desmet", "bakker", "elmansouri", "schmidt", "muller", "smith", "jones", "devos",
         "hermans", "fontaine", "bxl", "brussels", "zinneke", "ixl", "schaerbeek", "jette",
         "velo", "fiets", "koffie", "gaufre", "frites", "tram", "metro", "kot"]
_INSTANCES = ["mastodon.social", "mastodon.brussels", "mas.to", "mastodon.online", "todon.eu",
              "piaille.fr", "mastodon.nl", "mstdn.social", "eupolicy.social", "mamot.fr"]
_SUBS = ["brussels", "belgium", "Bruxelles", "belgium2", "brussel", "europe"]
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n, 36)
        s = _B36[r] + s
    return s or "0"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


# --------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------
def _last_sunday_utc(year: int, month: int) -> int:
    d = date(year, month + 1, 1) - timedelta(days=1)
    d -= timedelta(days=(d.weekday() + 1) % 7)
    return int(datetime(d.year, d.month, d.day, 1, tzinfo=timezone.utc).timestamp())


def brussels_offset(ts: int) -> int:
    """UTC offset of Brussels in hours at epoch second ts (EU summer-time rule)."""
    y = time.gmtime(ts).tm_year
    return 2 if _last_sunday_utc(y, 3) <= ts < _last_sunday_utc(y, 10) else 1


def _iso(ts: int, off: int = 0) -> str:
    if off:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + off * 3600)) + f"+0{off}:00"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------
class _Author:
    __slots__ = ("id", "handle", "user", "platform", "lang", "followers", "special")

    def __init__(self, aid, handle, user, platform, lang, followers, special=""):
        self.id, self.handle, self.user, self.platform = aid, handle, user, platform
        self.lang, self.followers, self.special = lang, followers, special


class _Post:
    __slots__ = ("pid", "platform", "author", "text", "lang", "topics", "sentiment", "event",
                 "ts")

    def __init__(self, pid, platform, author, text, lang, topics, sentiment, event, ts):
        self.pid, self.platform, self.author, self.text, self.lang = pid, platform, author, text, lang
        self.topics, self.sentiment, self.event, self.ts = topics, sentiment, event, ts


class _Sim:
    def __init__(self, out_dir, start, days, posts, seed, bad_lines, events=True, answers=False):
        if days < 1:
            raise ValueError("days must be >= 1")
        if posts < 400:
            raise ValueError("posts must be >= 400 (planted events need room)")
        self.out_dir, self.start, self.days, self.n_posts = out_dir, start, days, posts
        self.seed, self.n_bad = seed, bad_lines
        self.planted_events = events   # False: a quiet corpus (no burst, hashtag, entry, drop, campaign)
        self.drop_day = DROP_DAY if events else None
        self.rng = random.Random(seed)
        self.t0 = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
        self.counters = {p: 0 for p in PLATFORM_MIX}
        self.handles = set()
        self.lang_names = list(LANG_MIX)
        self.lang_cum = self._cum(LANG_MIX.values())
        self.plat_names = list(PLATFORM_MIX)
        self.plat_cum = self._cum(PLATFORM_MIX.values())
        self.topic_cum = {lang: (list(m), self._cum(m.values())) for lang, m in TOPIC_MIX.items()}
        self.videos = ["".join(self.rng.choice(_B64) for _ in range(11)) for _ in range(40)]
        self.events = []
        self.kind_counts = {"question": 0, "insult": 0, "spam": 0}
        self.gate_daily = {}
        self.lang_counts = {lang: 0 for lang in LANG_MIX}
        self.topic_counts = {t: 0 for t in TOPICS}
        self.written = 0
        self.bad_records = []
        # answers (opt-in): a separate stream, so the main one is untouched
        self.answers = answers
        self.arng = random.Random(seed + ANSWER_SEED_OFFSET)
        self.answer_truth = {}      # question post_id -> truth entry
        self.answers_due = {}       # day index -> [(ts, question post_id, question _Post)]
        self.answer_counters = {p: 0 for p in PLATFORM_MIX}
        self.used_ids = set()       # (platform, native id) of every main id, when answers are on
        self.answers_written = 0

    # ---- small random helpers
    @staticmethod
    def _cum(weights):
        out, s = [], 0.0
        for w in weights:
            s += w
            out.append(s)
        return out

    def _pick(self, names, cum):
        return names[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def _day_ts(self, day_index):
        return self.t0 + 86400 * day_index

    def _local_to_utc(self, day_index, local_hour):
        base = self._day_ts(day_index)
        return base + 3600 * (local_hour - brussels_offset(base + 43200))

    # ---- authors
    def _new_handle(self, platform, lang, low=False):
        rng = self.rng
        while True:
            f, last = rng.choice(_FIRST), rng.choice(_LAST)
            form = rng.random()
            if form < 0.3:
                user = f"{f}_{last}"
            elif form < 0.55:
                user = f"{f}{last}{rng.randrange(10, 99)}"
            elif form < 0.75:
                user = f"{f}.{last}" if platform in ("bluesky",) else f"{f}{last}"
            else:
                user = f"{last}_{f}{rng.randrange(1, 999)}"
            if low:
                user = f"{f}{last[:3]}{rng.randrange(10000, 99999)}"
            if platform == "mastodon":
                handle = f"@{user}@{rng.choice(_INSTANCES)}"
            elif platform == "bluesky":
                handle = f"@{user}.bsky.social"
            elif platform == "reddit":
                handle = f"@u_{user}"
            elif platform == "youtube":
                handle = "@" + "".join(_cap(p) for p in re.split(r"[_.]", user))
            else:
                handle = f"@{user}"
            key = (platform, handle.lower())
            if key not in self.handles and "parlbxl" not in handle.lower():
                self.handles.add(key)
                return handle, user

    def _author_id(self, platform):
        rng = self.rng
        if platform == "x":
            return str(rng.randrange(10 ** 8, 2 * 10 ** 18))
        if platform == "mastodon":
            return str(rng.randrange(10 ** 17, 10 ** 18))
        if platform == "bluesky":
            return "did:plc:" + "".join(rng.choice(_B32) for _ in range(24))
        if platform == "reddit":
            return "t2_" + "".join(rng.choice(_B36) for _ in range(8))
        return "UC" + "".join(rng.choice(_B64) for _ in range(22))

    def _make_author(self, platform, lang, followers, special="", low=False):
        handle, user = self._new_handle(platform, lang, low)
        return _Author(self._author_id(platform), handle, user, platform, lang, followers, special)

    def _followers(self):
        return min(3_000_000, int(self.rng.lognormvariate(math.log(180), 2.0)))

    def _build_authors(self):
        rng = self.rng
        n = max(80, self.n_posts * 2 // 9)   # ~1 active author per 5 posts
        self.pool = {}        # lang -> (authors, cum weights)
        self.plat_pool = {}   # platform -> (authors, cum weights)
        by_lang = {lang: [] for lang in LANG_MIX}
        by_plat = {p: [] for p in PLATFORM_MIX}
        for i in range(n):
            lang = self.lang_names[i % 4] if i < 8 * 4 else self._pick(self.lang_names, self.lang_cum)
            plat = self.plat_names[i % 5] if i < 8 * 5 else self._pick(self.plat_names, self.plat_cum)
            a = self._make_author(plat, lang, self._followers())
            w = min(300.0, rng.paretovariate(1.6))  # Zipf-like activity: few heavy posters
            by_lang[lang].append((a, w))
            by_plat[plat].append((a, w))
        self.all_authors = [a for lst in by_lang.values() for a, _ in lst]
        for lang, lst in by_lang.items():
            self.pool[lang] = ([a for a, _ in lst], self._cum(w for _, w in lst))
        for plat, lst in by_plat.items():
            self.plat_pool[plat] = ([a for a, _ in lst], self._cum(w for _, w in lst))
        self.inst = {p: _Author(aid, h, h.lstrip("@").split("@")[0].split(".")[0], p, "fr", f, "inst")
                     for (p, h), aid, f in zip(INSTITUTION.items(),
                                               ["109300000000000001", "did:plc:parlbxlbrusselsparlement0",
                                                "1302000001"],
                                               [3_420, 5_180, 12_650])}
        self.actu = _Author("1588000042", ENTRY_HANDLE, "actu_bxl", "x", "fr", ENTRY_FOLLOWERS, "news")
        self.handles.add(("x", ENTRY_HANDLE))
        n_spam = max(5, self.n_posts // 800)
        self.spammers = []
        for i in range(n_spam):
            plat = ["x", "youtube", "bluesky", "mastodon", "reddit"][i % 5]
            self.spammers.append(self._make_author(plat, "fr", rng.randrange(0, 60), "spam", low=True))

    def _author_for(self, lang, platform=None):
        if platform is None:
            authors, cum = self.pool[lang]
            return authors[bisect.bisect(cum, self.rng.random() * cum[-1])]
        authors, cum = self.plat_pool[platform]
        return authors[bisect.bisect(cum, self.rng.random() * cum[-1])]

    # ---- native ids and urls
    def _native_id(self, platform, ts):
        if self.answers:
            pid = self._native_id_main(platform, ts)
            self.used_ids.add((platform, pid))
            return pid
        return self._native_id_main(platform, ts)

    def _native_id_main(self, platform, ts):
        c = self.counters[platform]
        self.counters[platform] = c + 1
        rng = self.rng
        ms = ts * 1000 + rng.randrange(1000)
        if platform == "x":
            return str(((ms - 1288834974657) << 22) | (c & 0x3FFFFF))
        if platform == "mastodon":
            return str(ms * 100000 + c % 100000)
        if platform == "bluesky":
            v = ((ms * 1000 + c % 1000) << 10) | rng.randrange(1024)
            s = ""
            for _ in range(13):
                v, r = divmod(v, 32)
                s = _B32[r] + s
            return s
        if platform == "reddit":
            return _b36(2_000_000_000 + c * 7 + rng.randrange(7))
        core = ""
        v = c
        for _ in range(6):
            v, r = divmod(v, 64)
            core = _B64[r] + core
        return "Ugx" + core + "".join(rng.choice(_B64) for _ in range(14)) + "4AaABAg"

    def _url(self, platform, author, pid):
        if platform == "x":
            return f"https://x.com/{author.handle[1:]}/status/{pid}"
        if platform == "mastodon":
            user, inst = author.handle[1:].split("@")
            return f"https://{inst}/@{user}/{pid}"
        if platform == "bluesky":
            return f"https://bsky.app/profile/{author.handle[1:]}/post/{pid}"
        if platform == "reddit":
            return f"https://www.reddit.com/r/{_SUBS[sum(map(ord, author.id)) % len(_SUBS)]}/comments/{pid}/"
        return f"https://www.youtube.com/watch?v={self.videos[int(pid[3:9].encode().hex(), 16) % 40]}&lc={pid}"

    # ---- text composition
    def _np(self, lang, topic):
        lst = T[lang]["np"].get(topic) or T["fr"]["np"][topic]
        return self.rng.choice(lst)

    def _sentiment(self, dist):
        r = self.rng.random()
        if r < dist["negative"]:
            return "negative"
        if r < dist["negative"] + dist["neutral"]:
            return "neutral"
        return "positive"

    def _opinion(self, lang, sentiment):
        key = {"positive": "pos", "negative": "neg", "neutral": "neu"}[sentiment]
        p = self.rng.choice(T[lang][key])
        r = self.rng.random()
        if r < 0.05:      # typo: swap two letters inside a longer word
            words = p.split(" ")
            i = self.rng.randrange(len(words))
            w = words[i]
            if len(w) > 4 and w.isalpha():
                j = self.rng.randrange(1, len(w) - 2)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
                p = " ".join(words)
        elif r < 0.09:    # one word in capitals
            words = p.split(" ")
            i = self.rng.randrange(len(words))
            words[i] = words[i].upper()
            p = " ".join(words)
        return p

    def _body(self, lang, subject, sentiment, opener=True):
        rng = self.rng
        F = T[lang]
        frame = rng.choice(F["frames"])
        o = rng.choice(F["open"]) + " " if opener and rng.random() < 0.6 else ""
        p = self._opinion(lang, sentiment)
        s = frame.format(o=o, n=subject, N=_cap(subject), p=p, P=_cap(p))
        if rng.random() < 0.35:
            s += " " + rng.choice(F["detail"])
        if rng.random() < 0.35:
            s += " " + rng.choice(F["close"])
        return _cap(s)

    def _extras(self, lang, platform, text, topics, gate=False):
        rng = self.rng
        F = T[lang]
        parts = [text]
        if rng.random() < 0.3:
            parts.append(rng.choice(EMOJI) + (rng.choice(EMOJI) if rng.random() < 0.3 else ""))
        tags = []
        if topics and rng.random() < 0.25:
            t = rng.choice(topics)
            tag = rng.choice(TOPICS[t]["hashtags"])
            if tag.lower() not in text.lower():
                tags.append(tag)
        if rng.random() < 0.25:
            tags.append(rng.choice(F["tags"]))
        if gate:
            tags.insert(rng.randrange(len(tags) + 1), GATE_TAG)
        if tags:
            parts.append(" ".join(tags))
        r = rng.random()
        if r < 0.06:
            authors = self.plat_pool[platform][0]
            parts.append(rng.choice(authors).handle)
        elif r < 0.09 and platform in INSTITUTION:
            parts.append(INSTITUTION[platform])
        if rng.random() < 0.14:
            host = rng.choice(LINK_HOSTS)
            link = f"{host}{rng.randrange(100000, 999999)}"
            if rng.random() < 0.4:
                parts.append(rng.choice(F["link_text"]) + " " + link)
            else:
                parts.append(link)
        s = " ".join(parts)
        r = rng.random()
        if r < 0.06:
            s = _strip_accents(s)
        elif r < 0.09:
            s = s.lower()
        return s

    def _topical_text(self, lang, platform, topics, sentiment, gate=False):
        rng = self.rng
        if topics:
            n = self._np(lang, topics[0])
            r = rng.random()
            if r < 0.04:
                n = n.upper()
            elif r < 0.08:
                n = _strip_accents(n).lower()
        else:
            n = rng.choice(T[lang]["off"])
        s = self._body(lang, n, sentiment)
        if len(topics) > 1:
            s += " " + rng.choice(T[lang]["also"]).format(n=self._np(lang, topics[1]))
        return self._extras(lang, platform, s, topics, gate)

    def _choose_topics(self, lang):
        rng = self.rng
        if rng.random() < OFF_TOPIC_SHARE:
            return []
        names, cum = self.topic_cum[lang]
        t1 = names[bisect.bisect(cum, rng.random() * cum[-1])]
        if rng.random() < 0.10:
            others = [t for t in names if t != t1]
            return [t1, rng.choice(others)]
        return [t1]

    # ---- post records
    def _emit(self, day, author, text, lang, sentiment, kind, event, ts, intended=None,
              reply_to=None, repost_of=None, quote_of=None, counts=None, topics=None):
        rng = self.rng
        platform = author.platform
        pid = self._native_id(platform, ts)
        if topics is None:
            topics = topics_of(text, author.handle)
        rec = {"platform": platform, "id": pid, "url": self._url(platform, author, pid)}
        off = brussels_offset(ts) if rng.random() < 0.10 else 0
        rec["created_at"] = _iso(ts, off)
        rec["author_id"] = author.id
        rec["author_handle"] = author.handle
        rec["author_followers"] = author.followers
        rec["text"] = text
        if rng.random() < 0.6:
            rec["lang"] = lang
        if reply_to:
            rec["reply_to"] = reply_to
        if repost_of:
            rec["repost_of"] = repost_of
        if quote_of:
            rec["quote_of"] = quote_of
        if counts is None:
            if repost_of:
                counts = (0, 0, 0, 0)
            else:
                base = (author.followers ** 0.75) * 0.06 * rng.lognormvariate(0, 0.9)
                if reply_to:
                    base *= 0.3
                counts = (int(base + rng.random()), int(base * 0.22 + rng.random()),
                          int(base * 0.10 + rng.random() * 0.9), int(base * 0.03 + rng.random() * 0.3))
        rec["like_count"], rec["repost_count"], rec["reply_count"], rec["quote_count"] = counts
        post = _Post(pid, platform, author, text, lang, topics, sentiment, event, ts)
        day["lines"].append((ts, json.dumps(rec, ensure_ascii=False)))
        truth = {"post_id": f"{platform}:{pid}", "topics": topics, "lang": lang,
                 "sentiment": sentiment, "kind": kind, "event": event}
        day["truth"].append(json.dumps(truth, ensure_ascii=False))
        self.lang_counts[lang] += 1
        for t in topics:
            self.topic_counts[t] += 1
        if kind in self.kind_counts:
            self.kind_counts[kind] += 1
        if "#budgetgate" in text.lower():
            d = day["date"]
            self.gate_daily[d] = self.gate_daily.get(d, 0) + 1
        self.written += 1
        if not repost_of and author.special != "spam" and kind != "copy":
            cap = 30
            for _ in range(min(cap, counts[1])):
                day["rp"][platform].append(post)
            for _ in range(min(cap, counts[2])):
                day["rr"][platform].append(post)
            if counts[3]:
                day["rq"][platform].append(post)
        return post

    def _take(self, key, platform):
        """Pop a random ticket for a repost/reply/quote from today's or yesterday's pool."""
        today = self.cur[key][platform]
        prev = self.prev[key][platform] if self.prev else []
        n = len(today) + len(prev)
        if not n:
            return None
        i = self.rng.randrange(n)
        lst = today if i < len(today) else prev
        if lst is prev:
            i -= len(today)
        post = lst[i]
        lst[i] = lst[-1]
        lst.pop()
        return post

    # ---- kinds of generated posts
    def _regular(self, day, ts):
        rng = self.rng
        r = rng.random()
        dnum = day["num"]
        if r < 0.10:
            plat = self._pick(self.plat_names, self.plat_cum)
            orig = self._take("rp", plat)
            if orig is not None:
                a = self._author_for(None, plat)
                if a is not orig.author:
                    ev = orig.event if orig.event == "hashtag-budgetgate" else None
                    return self._emit(day, a, orig.text, orig.lang, orig.sentiment, "repost", ev, ts,
                                      repost_of=orig.pid, topics=orig.topics)
        elif r < 0.25:
            plat = self._pick(self.plat_names, self.plat_cum)
            parent = self._take("rr", plat)
            if parent is not None:
                return self._reply(day, ts, parent)
        elif r < 0.28:
            plat = self._pick(self.plat_names, self.plat_cum)
            parent = self._take("rq", plat)
            if parent is not None:
                lang = self._pick(self.lang_names, self.lang_cum)
                a = self._author_for(None, plat)
                return self._original(day, ts, a, lang, quote_of=parent.pid)
        elif r < 0.2855:
            return self._announce(day, ts)
        elif r < 0.31:
            return self._question(day, ts)
        elif r < 0.33:
            return self._insult(day, ts)
        elif r < 0.345:
            return self._spam(day, ts)
        lang = self._pick(self.lang_names, self.lang_cum)
        return self._original(day, ts, self._author_for(lang), lang)

    def _original(self, day, ts, author, lang, quote_of=None, topics=None, event=None, gate=None):
        rng = self.rng
        if topics is None:
            topics = self._choose_topics(lang)
        dist = SENTIMENT_DROP if (day["num"] == self.drop_day and "climate-bill" in topics) else SENTIMENT_BASE
        sentiment = self._sentiment(dist)
        if event is None and day["num"] == self.drop_day and "climate-bill" in topics:
            event = "drop-climate-bill"
        if gate is None:
            gate = "budget-2027" in topics and rng.random() < (GATE_SHARE.get(day["num"], 0.0) if self.planted_events else 0.0)
        if gate and event is None:
            event = "hashtag-budgetgate"
        text = self._topical_text(lang, author.platform, topics, sentiment, gate)
        return self._emit(day, author, text, lang, sentiment, "normal", event, ts, quote_of=quote_of)

    def _reply(self, day, ts, parent, author=None, event=None, topic_bias=None):
        rng = self.rng
        plat = parent.platform
        lang = parent.lang if rng.random() < 0.7 else self._pick(self.lang_names, self.lang_cum)
        if author is None:
            for _ in range(4):
                author = self._author_for(None, plat)
                if author is not parent.author:
                    break
        prefix = parent.author.handle + " "
        if parent.author.special == "inst" and rng.random() < 0.35:
            return self._question(day, ts, author=author, lang=lang, prefix=prefix, reply_to=parent.pid)
        if rng.random() < 0.03:
            return self._insult(day, ts, author=author, lang=lang, prefix=prefix, reply_to=parent.pid)
        dist = SENTIMENT_BASE
        topics = []
        if topic_bias and rng.random() < 0.6:
            topics = [topic_bias]
        elif rng.random() < 0.45:
            topics = self._choose_topics(lang)
        if day["num"] == self.drop_day and "climate-bill" in topics:
            dist = SENTIMENT_DROP
            event = event or "drop-climate-bill"
        sentiment = self._sentiment(dist)
        F = T[lang]
        if topics:
            body = self._topical_text(lang, plat, topics, sentiment)
        else:
            p = self._opinion(lang, sentiment)
            body = _cap(p) + "."
            if rng.random() < 0.3:
                body += " " + rng.choice(F["close"])
            if rng.random() < 0.25:
                body += " " + rng.choice(EMOJI)
        if rng.random() < 0.5:
            body = rng.choice(F["reply"]) + " " + body[:1].lower() + body[1:]
        return self._emit(day, author, prefix + body, lang, sentiment, "reply", event, ts,
                          reply_to=parent.pid)

    def _kind_lang(self, kind):
        """Language of a question/insult/spam: the first four cycle through all languages."""
        n = self.kind_counts[kind]
        if n < len(self.lang_names):
            return self.lang_names[n]
        return self._pick(self.lang_names, self.lang_cum)

    def _inst_handle(self, platform):
        return INSTITUTION.get(platform, "@parlbxl")

    def _question(self, day, ts, author=None, lang=None, prefix="", reply_to=None):
        rng = self.rng
        if lang is None:
            lang = self._kind_lang("question")
        if author is None:
            author = self._author_for(lang)
        mix = TOPIC_MIX[lang]
        topic = rng.choice(list(mix))
        n = self._np(lang, topic)
        h = "" if prefix else self._inst_handle(author.platform)
        q = rng.choice(T[lang]["question"])
        s = q.format(h=h, n=n, N=_cap(n)).strip()
        if not prefix and rng.random() < 0.15:   # handle at the end instead
            s = _cap(s[len(h):].strip())
            s = s[:-1].rstrip() + " " + h + " ?" if lang == "fr" else s[:-1] + " " + h + "?"
        text = prefix + s
        post = self._emit(day, author, text, lang, "neutral", "question", "questions", ts,
                          reply_to=reply_to)
        if self.answers:
            self._plan_answer(post)
        return post

    # ---- answers of the institution (opt-in; only self.arng, never self.rng)
    def _plan_answer(self, q):
        """Decides whether and when the institution answers question `q`."""
        arng = self.arng
        qid = f"{q.platform}:{q.pid}"
        entry = {"platform": q.platform, "created_at": _iso(q.ts), "status": "unanswered",
                 "answer_id": None, "answered_at": None, "delay_hours": None}
        self.answer_truth[qid] = entry
        if q.platform not in INSTITUTION:   # no institution account: replies not seen
            entry["status"] = "unknown"
            return
        r = arng.random()
        acc = 0.0
        for _cat, share, lo, hi in ANSWER_DELAYS:
            acc += share
            if r < acc:
                if lo < 3 * 3600:   # minutes to hours: log-uniform
                    delay = int(math.exp(arng.uniform(math.log(lo), math.log(hi))))
                else:
                    delay = arng.randrange(lo, hi + 1)
                delay = min(hi, max(lo, delay))
                ts = q.ts + delay
                di = (ts - self.t0) // 86400
                if di < self.days:   # after the corpus's last day: not written, unanswered
                    self.answers_due.setdefault(di, []).append((ts, qid, q))
                return

    def _answer_id(self, platform, ts):
        """A native id for an answer, from its own counter and stream, unique among main ids."""
        arng = self.arng
        while True:
            c = self.answer_counters[platform]
            self.answer_counters[platform] = c + 1
            ms = ts * 1000 + arng.randrange(1000)
            if platform == "x":   # low 22 bits from a range the main counter never reaches
                pid = str(((ms - 1288834974657) << 22) | (0x3F0000 + c % 0x10000))
            elif platform == "mastodon":
                pid = str(ms * 100000 + (99999 - c % 100000))
            else:   # bluesky
                v = ((ms * 1000 + (999 - c % 1000)) << 10) | arng.randrange(1024)
                pid = ""
                for _ in range(13):
                    v, r = divmod(v, 32)
                    pid = _B32[r] + pid
            if (platform, pid) not in self.used_ids:
                self.used_ids.add((platform, pid))
                return pid

    def _answer(self, ts, qid, q):
        """The answer post (import line, truth line) replying to question `q` at `ts`."""
        arng = self.arng
        author = self.inst[q.platform]
        lang = q.lang
        text = q.author.handle + " " + arng.choice(ANSWER_TEXTS[lang])
        topics = topics_of(text, author.handle)
        pid = self._answer_id(q.platform, ts)
        rec = {"platform": q.platform, "id": pid, "url": self._url(q.platform, author, pid)}
        off = brussels_offset(ts) if arng.random() < 0.10 else 0
        rec["created_at"] = _iso(ts, off)
        rec["author_id"] = author.id
        rec["author_handle"] = author.handle
        rec["author_followers"] = author.followers
        rec["text"] = text
        if arng.random() < 0.6:
            rec["lang"] = lang
        rec["reply_to"] = q.pid
        base = (author.followers ** 0.75) * 0.06 * arng.lognormvariate(0, 0.9) * 0.3
        rec["like_count"] = int(base + arng.random())
        rec["repost_count"] = int(base * 0.22 + arng.random())
        rec["reply_count"] = int(base * 0.10 + arng.random() * 0.9)
        rec["quote_count"] = int(base * 0.03 + arng.random() * 0.3)
        aid = f"{q.platform}:{pid}"
        truth = {"post_id": aid, "topics": topics, "lang": lang, "sentiment": "neutral",
                 "kind": "answer", "event": "answers"}
        entry = self.answer_truth[qid]
        entry.update(status="answered", answer_id=aid, answered_at=_iso(ts),
                     delay_hours=round((ts - q.ts) / 3600, 4))
        self.lang_counts[lang] += 1
        for t in topics:
            self.topic_counts[t] += 1
        self.written += 1
        self.answers_written += 1
        return json.dumps(rec, ensure_ascii=False), json.dumps(truth, ensure_ascii=False)

    def _insult(self, day, ts, author=None, lang=None, prefix="", reply_to=None):
        rng = self.rng
        if lang is None:
            lang = self._kind_lang("insult")
        if author is None:
            author = self._author_for(lang)
        topic = "parlement" if rng.random() < 0.6 else rng.choice(["budget-2027", "climate-bill"])
        n = self._np(lang, topic)
        h = "" if prefix else self._inst_handle(author.platform) if rng.random() < 0.5 else ""
        s = rng.choice(T[lang]["insult"]).format(h=h, n=n, N=_cap(n), pn=rng.choice(_PN[lang])).strip()
        if rng.random() < 0.4:
            s += " " + rng.choice(["🤡", "😡", "🤬", "👎", "🙄"])
        return self._emit(day, author, prefix + _cap(s), lang, "negative", "insult", "insults", ts,
                          reply_to=reply_to)

    def _spam(self, day, ts):
        rng = self.rng
        lang = self._kind_lang("spam")
        author = rng.choice(self.spammers)
        tags = rng.sample([h for t in TOPICS.values() for h in t["hashtags"]], rng.randrange(1, 4))
        u = rng.choice(SPAM_HOSTS) + "".join(rng.choice(_B64[:62]) for _ in range(7))
        text = rng.choice(T[lang]["spam"]).format(t=" ".join(tags), u=u)
        counts = (rng.randrange(0, 3), 0, 0, 0)
        return self._emit(day, author, text, lang, "neutral", "spam", "spam", ts, counts=counts)

    def _announce(self, day, ts):
        rng = self.rng
        plat = rng.choice(list(INSTITUTION))
        lang = "fr" if rng.random() < 0.55 else "nl"
        topic = rng.choice(["budget-2027", "climate-bill", "agora", "parlement"])
        n = self._np(lang, topic)
        text = rng.choice(T[lang]["announce"]).format(n=n)
        return self._emit(day, self.inst[plat], text, lang, "neutral", "normal", None, ts)

    def _exclude_post(self, day, ts):
        rng = self.rng
        lang = "fr" if rng.random() < 0.7 else rng.choice(["nl", "en", "de"])
        author = self._author_for(lang)
        sentiment = self._sentiment(SENTIMENT_BASE)
        p = self._opinion(lang, sentiment)
        c = rng.choice(COMMUNES)
        tpl = rng.choice(T[lang]["exclude"])
        if "{p}" not in tpl and "{P}" not in tpl:
            sentiment = "neutral"
        text = tpl.format(c=c, C=c, p=p, P=_cap(p))
        return self._emit(day, author, text, lang, sentiment, "normal", None, ts)

    # ---- planning
    def _plan(self):
        """Timestamps of every valid post, per day: list of (ts, kind, arg)."""
        rng = self.rng
        days = self.days
        plan = [[] for _ in range(days)]
        planted = 0

        def has(day_num):
            return day_num <= days and self.planted_events

        # volume burst
        burst = None
        day_w = [0.78 if (self.start + timedelta(d)).weekday() >= 5 else 1.0 for d in range(days)]
        hour_share = sum(DIURNAL[BURST_LOCAL_HOURS[0]:BURST_LOCAL_HOURS[1]]) / sum(DIURNAL)
        if has(BURST_DAY):
            bi = BURST_DAY - 1
            exp_budget = (self.n_posts / sum(day_w)) * day_w[bi] * hour_share * 0.17
            extra = max(24, int(round((BURST_FACTOR - 1) * exp_budget)))
            b0 = self._local_to_utc(bi, BURST_LOCAL_HOURS[0])
            b1 = self._local_to_utc(bi, BURST_LOCAL_HOURS[1])
            for _ in range(extra):
                plan[bi].append((rng.randrange(b0, b1), "burst", None))
            planted += extra
            burst = (b0, b1, extra)
        # new hashtag: a handful on its first day
        n_gate = 0
        if has(GATE_FIRST_DAY):
            gi = GATE_FIRST_DAY - 1
            n_gate = min(GATE_FIRST_POSTS + 3, max(3, self.n_posts // 4000))
            for _ in range(n_gate):
                plan[gi].append((self._local_to_utc(gi, rng.uniform(12, 23)), "gate", None))
            planted += n_gate
        # budget participatif (exclusion)
        n_ex = max(6, int(round(20 * self.n_posts / 20000)))
        for _ in range(n_ex):
            di = rng.randrange(days)
            plan[di].append((self._local_to_utc(di, rng.uniform(8, 22)), "exclude", None))
        planted += n_ex
        # the news outlet's earlier posts (never about the climate bill)
        entry = None
        n_news = 6
        for k in range(n_news):
            di = rng.randrange(max(1, min(days, ENTRY_DAY - 1)))
            plan[di].append((self._local_to_utc(di, rng.uniform(7, 21)), "news", None))
        planted += n_news
        if has(ENTRY_DAY):
            ei = ENTRY_DAY - 1
            te = self._local_to_utc(ei, 8.75) + rng.randrange(600)
            n_rp = min(400, max(15, self.n_posts // 300))
            n_rr = min(250, max(10, self.n_posts // 500))
            plan[ei].append((te, "entry", None))
            for _ in range(n_rp):
                plan[ei].append((te + 30 + int(min(8 * 3600, rng.expovariate(1 / 4000))), "entry_rp", None))
            for _ in range(n_rr):
                plan[ei].append((te + 60 + int(min(8 * 3600, rng.expovariate(1 / 5400))), "entry_rr", None))
            planted += 1 + n_rp + n_rr
            entry = (te, n_rp, n_rr)
        campaign = None
        if has(CAMPAIGN_DAY):
            ci = CAMPAIGN_DAY - 1
            c0 = self._local_to_utc(ci, CAMPAIGN_LOCAL_HOUR) + rng.randrange(0, 900)
            offs = sorted(rng.sample(range(0, 3300), CAMPAIGN_ACCOUNTS))
            for k, o in enumerate(offs):
                plan[ci].append((c0 + o, "copy", k))
            planted += CAMPAIGN_ACCOUNTS
            campaign = (c0, c0 + offs[-1])
        base = self.n_posts - planted
        if base < 0:
            raise ValueError("too few posts for the planted events")
        # planted posts are mostly French: correct the language mix of the other posts
        mix = LANG_MIX
        fr_only = {"fr": 1.0, "nl": 0.0, "en": 0.0, "de": 0.0}
        groups = [(n_news + CAMPAIGN_ACCOUNTS * has(CAMPAIGN_DAY), fr_only),
                  (n_ex, {"fr": 0.7, "nl": 0.1, "en": 0.1, "de": 0.1})]
        if has(GATE_FIRST_DAY):
            groups.append((n_gate, {"fr": 0.6, "nl": 0.4, "en": 0.0, "de": 0.0}))
        if entry:
            groups.append((1 + entry[1] + 0.7 * entry[2], fr_only))
        excess = {l: sum(c * (q[l] - mix[l]) for c, q in groups) for l in mix}
        self.lang_cum = self._cum(max(0.01, mix[l] - excess[l] / max(1, base)) for l in mix)
        # split the base volume among days (largest remainder) and hours (diurnal)
        tot = sum(day_w)
        raw = [base * w / tot for w in day_w]
        counts = [int(x) for x in raw]
        for i in sorted(range(days), key=lambda i: counts[i] - raw[i])[: base - sum(counts)]:
            counts[i] += 1
        self.regular_counts = counts
        for di in range(days):
            lo, hi = self._day_ts(di), self._day_ts(di + 1)
            plan[di] = [(min(max(int(ts), lo), hi - 1), k, a) for ts, k, a in plan[di]]
        return plan, burst, entry, campaign, n_ex

    def _day_plan(self, di, planted):
        """The day's planted posts plus its regular posts (diurnal), sorted by time."""
        rng = self.rng
        d0 = self._day_ts(di)
        off = brussels_offset(d0 + 43200)
        cum = self._cum(DIURNAL[(h + off) % 24] for h in range(24))
        total = cum[-1]
        items = list(planted)
        for _ in range(self.regular_counts[di]):
            h = bisect.bisect(cum, rng.random() * total)
            items.append((d0 + 3600 * h + rng.randrange(3600), "regular", None))
        items.sort(key=lambda x: x[0])
        return items

    # ---- planted posts
    def _campaign_text(self, k):
        """Same sentence for every account, with one small edit, another emoji and handle."""
        rng = self.rng
        words = {"verb": "ruiner", "who": "les familles bruxelloises", "stop": "Stop à cette folie"}
        edit = ["verb", "who", "stop", None][k % 4]
        if edit == "verb":
            words["verb"] = rng.choice(["appauvrir", "étrangler", "saigner", "plomber"])
        elif edit == "who":
            words["who"] = rng.choice(["les ménages bruxellois", "les travailleurs bruxellois",
                                       "les familles de Bruxelles"])
        elif edit == "stop":
            words["stop"] = rng.choice(["Non à cette folie", "Stop à cette absurdité",
                                        "Stop à cette dérive"])
        emo = rng.choice(["😡", "🤬", "👎", "🛑", "❌", "😤", "⚠️", "🚫"])
        tag = MP_HANDLES[(k * 5 + rng.randrange(3)) % len(MP_HANDLES)]
        return (f"L'ordonnance climat va {words['verb']} {words['who']}. {words['stop']} ! "
                f"{emo} #ClimatBXL {tag}")

    def _planted(self, day, ts, kind, arg):
        rng = self.rng
        if kind == "burst":
            lang = self._pick(self.lang_names, self.lang_cum)
            author = self._author_for(lang)
            dist = {"negative": 0.5, "neutral": 0.35, "positive": 0.15}
            topics = ["budget-2027"] if rng.random() < 0.85 else ["budget-2027", "parlement"]
            sentiment = self._sentiment(dist)
            gate = rng.random() < 0.05
            text = self._topical_text(lang, author.platform, topics, sentiment, gate)
            return self._emit(day, author, text, lang, sentiment, "normal", "burst-budget-2027", ts)
        if kind == "gate":
            lang = "fr" if rng.random() < 0.6 else "nl"
            return self._original(day, ts, self._author_for(lang), lang, topics=["budget-2027"], gate=True)
        if kind == "exclude":
            return self._exclude_post(day, ts)
        if kind == "news":
            topic = rng.choice(["budget-2027", "parlement", None])
            if topic:
                n = self._np("fr", topic)
                tpl = rng.choice([x for x in T["fr"]["news"] if "{" in x])
                text = tpl.format(n=n, N=_cap(n))
            else:
                text = rng.choice([x for x in T["fr"]["news"] if "{" not in x])
            text += f" https://www.actubxl.be/article/{rng.randrange(10000, 99999)}"
            return self._emit(day, self.actu, text, "fr", "neutral", "normal", None, ts)
        if kind == "entry":
            text = T["fr"]["entry"] + f" https://www.actubxl.be/article/{rng.randrange(10000, 99999)}"
            n_rp, n_rr = self.entry_plan[1], self.entry_plan[2]
            counts = (rng.randrange(2500, 4200), n_rp + rng.randrange(40, 160),
                      n_rr + rng.randrange(20, 90), rng.randrange(25, 60))
            post = self._emit(day, self.actu, text, "fr", "neutral", "normal", "entry-actu-bxl", ts,
                              counts=counts)
            self.entry_post = post
            return post
        if kind == "entry_rp":
            orig = self.entry_post
            a = self._author_for(None, "x")
            return self._emit(day, a, orig.text, orig.lang, orig.sentiment, "repost", "entry-actu-bxl",
                              ts, repost_of=orig.pid, topics=orig.topics)
        if kind == "entry_rr":
            return self._reply(day, ts, self.entry_post, event="entry-actu-bxl",
                               topic_bias="climate-bill")
        if kind == "copy":
            a = self.campaign_authors[arg]
            text = self._campaign_text(arg)
            counts = (rng.randrange(0, 4), rng.randrange(0, 2), 0, 0)
            post = self._emit(day, a, text, "fr", "negative", "copy", "campaign-climate-bill", ts,
                              counts=counts)
            self.campaign_posts.append(post)
            return post
        raise AssertionError(kind)

    # ---- bad lines
    def _bad_line(self, ts, reason, date_str):
        rng = self.rng
        lang = self._pick(self.lang_names, self.lang_cum)
        a = self._author_for(lang)
        pid = self._native_id(a.platform, ts)
        rec = {"platform": a.platform, "id": pid, "url": self._url(a.platform, a, pid),
               "created_at": _iso(ts), "author_id": a.id, "author_handle": a.handle,
               "author_followers": a.followers,
               "text": self._topical_text(lang, a.platform, self._choose_topics(lang), "neutral"),
               "lang": lang, "like_count": rng.randrange(0, 9), "repost_count": 0,
               "reply_count": 0, "quote_count": 0}
        if reason == "not valid JSON":
            s = json.dumps(rec, ensure_ascii=False)
            return s[: rng.randrange(40, len(s) - 20)]
        if reason == "JSON array instead of an object":
            return json.dumps([rec["platform"], rec["id"], rec["created_at"], rec["text"]],
                              ensure_ascii=False)
        if reason == "missing id":
            del rec["id"]
        elif reason == "created_at without time zone":
            rec["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
        elif reason == "negative like_count":
            rec["like_count"] = -rng.randrange(1, 9)
        elif reason == "author_followers is not a number":
            rec["author_followers"] = rng.choice(["12k", "1,2K", "many", "n/a"])
        return json.dumps(rec, ensure_ascii=False)

    # ---- main loop
    def run(self):
        rng = self.rng
        # Posts go to <out>/import (what VIGIE_IMPORT_DIR points at); truth files stay beside it,
        # so the pipeline never reads the answers as posts.
        os.makedirs(os.path.join(self.out_dir, "import"), exist_ok=True)
        self._build_authors()
        plan, burst, entry, campaign, n_ex = self._plan()
        self.entry_plan = entry
        self.entry_post = None
        self.campaign_posts = []
        self.campaign_authors = [self._make_author("x", "fr", rng.randrange(0, 40), "campaign", low=True)
                                 for _ in range(CAMPAIGN_ACCOUNTS)]
        # bad lines: spread over the days
        bad_by_day = {}
        for i in range(self.n_bad):
            di = min(self.days - 1, int((i + 0.5) * self.days / self.n_bad))
            bad_by_day.setdefault(di, []).append(BAD_REASONS[i % len(BAD_REASONS)])
        self.prev = None
        truth_path = os.path.join(self.out_dir, "truth.jsonl.gz")
        with open(truth_path, "wb") as tf_raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=tf_raw, mtime=0, compresslevel=6) as tf:
            for di in range(self.days):
                d = self.start + timedelta(days=di)
                day = {"num": di + 1, "date": d.isoformat(), "lines": [], "truth": [],
                       "rp": {p: [] for p in PLATFORM_MIX}, "rr": {p: [] for p in PLATFORM_MIX},
                       "rq": {p: [] for p in PLATFORM_MIX}}
                self.cur = day
                for ts, kind, arg in self._day_plan(di, plan[di]):
                    if kind == "regular":
                        self._regular(day, ts)
                    else:
                        self._planted(day, ts, kind, arg)
                lines = [s for _, s in day["lines"]]
                tss = [t for t, _ in day["lines"]]
                day["lines"] = None
                due = sorted(self.answers_due.pop(di, []), key=lambda x: x[0]) if self.answers else []
                if due:
                    truth_tss = list(tss)
                fname = f"posts-{d.isoformat()}.jsonl.gz"
                bads = []
                for reason in bad_by_day.get(di, []):
                    ts = self._day_ts(di) + rng.randrange(6 * 3600, 22 * 3600)
                    pos = bisect.bisect(tss, ts)
                    marker = object()
                    tss.insert(pos, ts)
                    lines.insert(pos, marker)
                    bads.append((marker, self._bad_line(ts, reason, d.isoformat()), reason))
                for ts, qid, q in due:   # answers: after equal timestamps, so order holds
                    line, truth_line = self._answer(ts, qid, q)
                    pos = bisect.bisect(tss, ts)
                    tss.insert(pos, ts)
                    lines.insert(pos, line)
                    pos = bisect.bisect(truth_tss, ts)
                    truth_tss.insert(pos, ts)
                    day["truth"].insert(pos, truth_line)
                for marker, line, reason in bads:
                    i = next(k for k, x in enumerate(lines) if x is marker)
                    lines[i] = line
                    self.bad_records.append({"file": fname, "line": i + 1, "reason": reason})
                self._write_gz(os.path.join(self.out_dir, "import", fname), lines)
                del lines, tss
                tl = day["truth"]
                for i in range(0, len(tl), 2000):
                    tf.write(("\n".join(tl[i:i + 2000]) + "\n").encode("utf-8"))
                self.prev = {k: day[k] for k in ("rp", "rr", "rq")}
                self.cur = None
                del day
        self.bad_records.sort(key=lambda b: (b["file"], b["line"]))
        manifest = self._manifest(burst, entry, campaign, n_ex)
        with open(os.path.join(self.out_dir, "truth.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
            f.write("\n")
        return manifest

    @staticmethod
    def _write_gz(path, lines):
        with open(path, "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
            for i in range(0, len(lines), 2000):
                gz.write(("\n".join(lines[i:i + 2000]) + "\n").encode("utf-8"))

    def _manifest(self, burst, entry, campaign, n_ex):
        end = self.start + timedelta(days=self.days - 1)
        t_start, t_end = _iso(self.t0), _iso(self._day_ts(self.days))
        ev = []
        if burst:
            ev.append({"id": "burst-budget-2027", "type": "volume_burst", "topic": "budget-2027",
                       "start": _iso(burst[0]), "end": _iso(burst[1]),
                       "description": "Incident during the plenary vote on the 2027 regional budget: "
                                      "about 6x the usual hourly volume for 4 hours.",
                       "factor": BURST_FACTOR, "extra_posts": burst[2]})
        if GATE_FIRST_DAY <= self.days and self.planted_events:
            gs = self._day_ts(GATE_FIRST_DAY - 1)
            ev.append({"id": "hashtag-budgetgate", "type": "new_hashtag", "topic": "budget-2027",
                       "start": _iso(gs), "end": t_end, "hashtag": GATE_TAG,
                       "description": "New hashtag #BudgetGate: a handful of posts on its first day, "
                                      "then fast growth riding with budget-2027 posts.",
                       "daily_posts": dict(sorted(self.gate_daily.items()))})
        if entry and self.entry_post is not None:
            ev.append({"id": "entry-actu-bxl", "type": "influential_entry", "topic": "climate-bill",
                       "start": _iso(entry[0]), "end": _iso(entry[0] + 8 * 3600 + 120),
                       "description": "A news outlet with ~250k followers that never posted about the "
                                      "climate bill posts about it and gets many reposts and replies.",
                       "author_handle": ENTRY_HANDLE, "author_followers": ENTRY_FOLLOWERS,
                       "platform": "x", "post_id": f"x:{self.entry_post.pid}",
                       "reposts": entry[1], "replies": entry[2]})
        if self.drop_day is not None and DROP_DAY <= self.days:
            ds = self._day_ts(DROP_DAY - 1)
            ev.append({"id": "drop-climate-bill", "type": "sentiment_drop", "topic": "climate-bill",
                       "start": _iso(ds), "end": _iso(ds + 86400),
                       "description": "Negative share of climate-bill posts jumps from ~25% to ~70% "
                                      "for one day.",
                       "baseline_negative_share": SENTIMENT_BASE["negative"],
                       "negative_share": SENTIMENT_DROP["negative"]})
        if campaign:
            ev.append({"id": "campaign-climate-bill", "type": "coordinated_campaign",
                       "topic": "climate-bill", "start": _iso(campaign[0]), "end": _iso(campaign[1] + 1),
                       "description": "40 new low-follower accounts post near-identical texts against "
                                      "the climate bill within one hour.",
                       "platform": "x",
                       "post_ids": [f"x:{p.pid}" for p in self.campaign_posts],
                       "author_ids": [p.author.id for p in self.campaign_posts]})
        ev.append({"id": "questions", "type": "questions", "topic": "parlement",
                   "start": t_start, "end": t_end,
                   "description": "Questions addressed to the institution (mention of its handle, "
                                  "ending with '?').", "count": self.kind_counts["question"]})
        if self.answers:
            qs = dict(sorted(self.answer_truth.items(), key=lambda kv: (kv[1]["created_at"], kv[0])))
            status = {s: 0 for s in ("answered", "unanswered", "unknown")}
            for e in qs.values():
                status[e["status"]] += 1
            ev.append({"id": "answers", "type": "answers", "topic": "parlement",
                       "start": t_start, "end": t_end,
                       "description": "Replies of the institution's account to questions addressed "
                                      "to it on the same platform; questions on a platform without "
                                      "an institution account (replies not collected) are 'unknown'.",
                       "count": self.answers_written, "status_counts": status,
                       "questions": qs})
        ev.append({"id": "insults", "type": "insults", "topic": "parlement",
                   "start": t_start, "end": t_end,
                   "description": "Insults aimed at the Parliament and its members.",
                   "count": self.kind_counts["insult"]})
        ev.append({"id": "spam", "type": "spam", "topic": None, "start": t_start, "end": t_end,
                   "description": "Crypto/giveaway promotion with topic hashtags and a link.",
                   "count": self.kind_counts["spam"]})
        return {"seed": self.seed, "start": self.start.isoformat(), "end": end.isoformat(),
                "days": self.days, "posts": self.written,
                "languages": self.lang_counts, "topics": self.topic_counts,
                "exclusion_posts": n_ex, "events": ev, "bad_lines": self.bad_records}


def simulate(out_dir, start: date = date(2026, 11, 2), days: int = 14, posts: int = 20000,
             seed: int = 7, bad_lines: int = 6, events: bool = True, answers: bool = False) -> dict:
    """Writes the corpus and returns the manifest dict (also written to truth.json).

    `events=False` writes a quiet corpus: the same regular traffic (questions, insults, spam
    included) without the planted burst, hashtag, influential entry, sentiment drop or campaign.

    `answers=True` adds the institution's replies to questions addressed to it (extra posts of
    kind "answer", on top of `posts`; manifest "posts" counts them) and an "answers" event in
    truth.json. Off by default: the output is then byte-identical to a run without the option.
    """
    if isinstance(start, str):
        start = date.fromisoformat(start)
    sim = _Sim(str(out_dir), start, days, posts, seed, bad_lines, events, answers)
    manifest = sim.run()
    if manifest["posts"] - sim.answers_written != posts:
        raise AssertionError(f"wrote {manifest['posts']} posts instead of {posts}")
    return manifest


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--start", default="2026-11-02")
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--bad-lines", type=int, default=6)
    ap.add_argument("--quiet", action="store_true", help="no planted events (for false-alert rates)")
    ap.add_argument("--answers", action="store_true",
                    help="the institution replies to some questions addressed to it")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    m = simulate(a.out_dir, date.fromisoformat(a.start), a.days, a.posts, a.seed, a.bad_lines, events=not a.quiet,
                 answers=a.answers)
    dt = time.perf_counter() - t
    print(f"{m['posts']} posts in {dt:.1f}s ({m['posts'] / dt:,.0f} posts/s) -> {a.out_dir}")


if __name__ == "__main__":
    main()
