"""Text cleaning: what every later stage reads instead of the raw text."""
from __future__ import annotations

import unicodedata

import pytest

from listening.clean import canonical_link, clean_text, fold, hashtags, links, mentions, text_for_language

MASTODON = ('<p>Le <a href="https://mastodon.brussels/tags/ParlBXL" class="mention hashtag" rel="tag">'
            '#<span>ParlBXL</span></a> vote&nbsp;!</p><p>Suite &amp; fin</p>')


def test_mastodon_html_becomes_plain_text():
    assert clean_text(MASTODON) == "Le #ParlBXL vote ! Suite & fin"


def test_paragraphs_and_breaks_do_not_glue_words():
    assert clean_text("<p>un</p><p>deux<br/>trois</p>") == "un deux trois"


def test_entities_are_decoded():
    assert clean_text("l&#39;ordonnance &quot;climat&quot; &eacute;t&eacute;") == "l'ordonnance \"climat\" été"


def test_whitespace_folded_and_controls_removed():
    assert clean_text("  budget \n\n\t régional\u200b  2027 \u00a0 ") == "budget régional 2027"


def test_nfc_normalisation():
    decomposed = "re\u0301forme"  # e + combining acute
    out = clean_text(decomposed)
    assert out == "réforme"
    assert unicodedata.is_normalized("NFC", out) and len(out) == 7


def test_empty_text():
    assert clean_text("") == ""
    assert clean_text(None) == ""


@pytest.mark.parametrize("text", [
    "prix < 5 € et budget > 2 M€",
    "I <3 Brussels, 2 > 1",
])
def test_angle_brackets_in_plain_text_are_kept(text):
    # A '<' that does not open a tag is text: no word between it and a later '>' may vanish.
    assert clean_text(text) == text


def test_hashtags_in_order_lowercase_once():
    text = "Vote #BudgetBXL ce soir au #ParlBXL, #budgetbxl encore"
    assert hashtags(text) == ["budgetbxl", "parlbxl"]


def test_hashtags_not_taken_from_links_or_entities():
    text = "voir https://example.org/page#section et &#39; et #Agora"
    assert hashtags(text) == ["agora"]


def test_hashtag_extracted_from_cleaned_mastodon_html():
    assert hashtags(clean_text(MASTODON)) == ["parlbxl"]


def test_mentions_fediverse_bluesky_and_plain():
    text = "Merci @Alice@Mastodon.Social et @bob.bsky.social, cc @carol."
    assert mentions(text) == ["@alice@mastodon.social", "@bob.bsky.social", "@carol"]


def test_email_addresses_are_not_mentions():
    text = "écrivez à info@parlement.brussels ou contact@example.org"
    assert mentions(text) == []


def test_mentions_each_once():
    assert mentions("@parlbxl @ParlBXL @parlbxl") == ["@parlbxl"]


def test_links_extracted_and_tracking_parameters_dropped():
    text = ("Lire https://example.org/a?utm_source=x&id=3&fbclid=abc. "
            "et https://Example.ORG/b?utm_medium=social&utm_campaign=c")
    assert links(text) == ["https://example.org/a?id=3", "https://example.org/b"]


def test_links_keep_real_parameters_and_drop_trailing_punctuation():
    assert canonical_link("https://example.org/search?q=budget&page=2,") == "https://example.org/search?q=budget&page=2"


def test_same_link_with_different_tracking_counts_once():
    text = "https://ex.org/a?utm_source=tw https://ex.org/a?utm_source=fb https://ex.org/a?gclid=1"
    assert links(text) == ["https://ex.org/a"]


def test_text_for_language_keeps_words_only():
    text = "@alice@mastodon.social le budget #ParlBXL https://ex.org/x est voté"
    assert text_for_language(text) == "le budget est voté"


@pytest.mark.parametrize("a,b", [
    ("Réforme", "reforme"),
    ("BUDGET RÉGIONAL", "budget regional"),
    ("Brüsseler Straße", "brusseler strasse"),
    ("Ça déménage", "ca demenage"),
])
def test_fold_ignores_case_and_accents(a, b):
    assert fold(a) == b


def test_fold_keeps_different_words_different():
    assert fold("budget régional") != fold("budget régionaux")


def test_youtube_start_time_is_kept_but_x_share_tracking_dropped():
    from listening.clean import canonical_link

    assert canonical_link("https://www.youtube.com/watch?v=abc&t=42") == "https://www.youtube.com/watch?v=abc&t=42"
    assert canonical_link("https://x.com/parlbxl/status/1?s=20&t=xyz") == "https://x.com/parlbxl/status/1"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
       | st.sampled_from(["<script>alert(1)</script>", "\u202eevil\u202c", "😀" * 500, "a\x00b", "&#0;&#x110000;"]))
def test_cleaning_never_crashes_and_leaves_no_control_characters(text):
    from listening import clean

    out = clean.clean_text(text)
    assert not any(c in out for c in "\x00\x01\x02\x1b\x7f")
    assert out == out.strip() and "  " not in out
    for f in (clean.hashtags, clean.mentions, clean.links, clean.fold, clean.text_for_language):
        f(out)


def test_mojibake_is_repaired_before_anything_reads_the_text():
    from listening.clean import clean_text

    assert clean_text("La rÃ©forme du budget, câ€™est non") == "La réforme du budget, c’est non"
    assert clean_text("Ã  Bruxelles, prÃ©sident") == "à Bruxelles, président"
    # genuine text with the same letters is left alone
    assert clean_text("Ã la carte: SÃO PAULO") == "Ã la carte: SÃO PAULO"
    assert clean_text("Gewestbegroting: één stem, Straße, œuvre") == "Gewestbegroting: één stem, Straße, œuvre"


def test_emoji_are_extracted_whole_and_once():
    from listening.clean import emoji

    assert emoji("Bravo 👏🏽👏🏽 pour le 🇧🇪 budget ❤️ 👨\u200d👩\u200d👧!") == ["👏🏽", "🇧🇪", "❤️", "👨\u200d👩\u200d👧"]
    assert emoji("pas d'emoji ici, é à ü — « ok »") == []
    assert emoji("😂😂😂 #ParlBXL") == ["😂"]
