"""The spaCy peer system: project tokens as spaCy Docs, training with best-epoch restore, prediction
with exact character offsets, the save/load round trip and documents without sentences."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bioie_kedro.baselines import spacy_ner
from bioie_kedro.baselines.spacy_ner import (
    load_spacy_ner,
    predict_spacy_ner,
    save_spacy_ner,
    sentence_doc,
    train_spacy_ner,
    training_examples,
)
from bioie_kedro.metrics.ner import score_entities
from bioie_kedro.schema import Document, Entity, validate_document
from bioie_kedro.segmentation import segment_document

TYPE_MAP = {"SpecificDisease": "Disease", "DiseaseClass": "Disease"}


def make_doc(
    doc_id: str, text: str, mentions: list[tuple[str, str]] = (), split: str = "train"
) -> Document:
    """A segmented document whose entities are the mentions, found left to right in ``text``."""
    entities, position = [], 0
    for index, (etype, string) in enumerate(mentions, start=1):
        start = text.index(string, position)
        position = start + len(string)
        entities.append(Entity(f"T{index}", etype, string, [(start, position)]))
    doc = validate_document(Document(doc_id, "demo", split, text, entities=entities))
    return segment_document(doc)


TRAIN = [
    make_doc(
        "1",
        "Patients with asthma were treated. The asthma improved.",
        [("SpecificDisease", "asthma"), ("SpecificDisease", "asthma")],
    ),
    make_doc(
        "2",
        "A case of cystic fibrosis is reported. No asthma was seen.",
        [("SpecificDisease", "cystic fibrosis"), ("DiseaseClass", "asthma")],
    ),
    make_doc(
        "3",
        "Children with asthma and eczema were studied.",
        [("SpecificDisease", "asthma"), ("SpecificDisease", "eczema")],
    ),
    make_doc(
        "4",
        "We measured blood pressure in adults. Severe asthma was rare.",
        [("SpecificDisease", "asthma")],
    ),
    make_doc(
        "5",
        "The drug reduced asthma attacks. Cystic fibrosis patients responded.",
        [("SpecificDisease", "asthma"), ("SpecificDisease", "Cystic fibrosis")],
    ),
    make_doc("6", "Lung function was measured in mice.", []),
    make_doc(
        "7",
        "Eczema and asthma often occur together.",
        [("SpecificDisease", "Eczema"), ("SpecificDisease", "asthma")],
    ),
    make_doc("8", "", []),  # no sentences, no entities
]
DEV = [
    make_doc(
        "d1",
        "Adults with asthma were enrolled. Eczema was common.",
        [("SpecificDisease", "asthma"), ("SpecificDisease", "Eczema")],
        split="dev",
    )
]
# A sentence the model has never seen, with the repeated easy entity in a new context.
NEW = make_doc("t1", "Two girls with asthma were seen in the clinic.", split="test")

SETTINGS = dict(type_map=TYPE_MAP, batch_size=2, seed=0)


@pytest.fixture(scope="module")
def trained():
    return train_spacy_ner(TRAIN, DEV, max_epochs=5, patience=5, **SETTINGS)


def test_sentence_doc_uses_the_project_tokens_and_their_gaps():
    import spacy

    doc = segment_document(Document("x", "demo", "test", "5-FU  was given(daily)."))
    spacy_doc = sentence_doc(spacy.blank("en").vocab, doc, doc.sentences[0])
    assert [t.text for t in spacy_doc] == ["5", "-", "FU", "was", "given", "(", "daily", ")", "."]
    assert spacy_doc.text == "5-FU was given(daily)."  # a gap of any width is one space


def test_training_examples_take_gold_from_iob2_with_the_type_map():
    import spacy

    examples, policy = training_examples(spacy.blank("en"), TRAIN, type_map=TYPE_MAP)
    # one example per sentence with tokens; document 8 has none
    assert len(examples) == sum(len(doc.sentences) for doc in TRAIN)
    second = examples[2].reference  # document 2, first sentence
    assert [(e.text, e.label_) for e in second.ents] == [("cystic fibrosis", "Disease")]
    assert not examples[2].predicted.ents
    assert policy["tagged"] == sum(len(doc.entities) for doc in TRAIN)


def test_the_trained_model_finds_the_repeated_entity_in_a_new_sentence(trained):
    nlp, _ = trained
    (predicted,), stats = predict_spacy_ner(nlp, [NEW])
    assert [(e.type, e.text, e.offsets) for e in predicted.entities] == [
        ("Disease", "asthma", [(15, 21)])
    ]
    assert NEW.text[15:21] == "asthma"
    validate_document(predicted)
    assert predicted.relations == [] and predicted.sentences == NEW.sentences
    assert stats["sentences"] == 1 and stats["sentences_per_second"] > 0


def test_predicted_offsets_are_exact_on_every_training_document(trained):
    nlp, _ = trained
    predicted, stats = predict_spacy_ner(nlp, TRAIN)
    assert [doc.id for doc in predicted] == [doc.id for doc in TRAIN]
    assert stats["sentences"] == sum(len(doc.sentences) for doc in TRAIN)
    for doc in predicted:
        validate_document(doc)  # entity text equals the document text at its offsets
    scores = score_entities(TRAIN, predicted, type_map=TYPE_MAP, bootstrap=0)
    assert scores.micro["strict"].correct >= 8  # of 11: it fits most of what it was taught


def test_the_log_has_one_entry_per_epoch_and_the_best_epoch_is_returned(trained):
    nlp, log = trained
    assert [entry["epoch"] for entry in log["epochs"]] == [1, 2, 3, 4, 5]
    assert log["labels"] == ["Disease"] and log["train_sentences"] == 11
    best = max(log["epochs"], key=lambda entry: entry["dev_strict_f1"])
    assert log["best_epoch"] == best["epoch"]
    assert log["best_dev_strict_f1"] == best["dev_strict_f1"] > 0
    predicted, stats = predict_spacy_ner(nlp, DEV)
    dev_f1 = score_entities(DEV, predicted, type_map=TYPE_MAP, bootstrap=0).micro["strict"].f1
    assert dev_f1 == log["best_dev_strict_f1"]
    # plain Python values only (spaCy's losses are numpy floats), so a benchmark can print them
    assert json.loads(json.dumps(log))["epochs"] == log["epochs"]
    assert json.loads(json.dumps(stats)) == stats


def test_patience_one_stops_at_the_first_epoch_without_improvement():
    nlp, log = train_spacy_ner(TRAIN, DEV, max_epochs=5, patience=1, **SETTINGS)
    f1s = [entry["dev_strict_f1"] for entry in log["epochs"]]
    # Dev F1 stays at 0 for the first epochs on this data, so an epoch fails to improve early.
    assert log["stopped_early"] and not log["stopped_by_time"]
    assert all(a < b for a, b in zip(f1s[:-2], f1s[1:-1])) and f1s[-1] <= f1s[-2]
    assert log["best_epoch"] == len(f1s) - 1
    predicted, _ = predict_spacy_ner(nlp, DEV)
    dev_f1 = score_entities(DEV, predicted, type_map=TYPE_MAP, bootstrap=0).micro["strict"].f1
    assert dev_f1 == log["best_dev_strict_f1"] == f1s[-2]


def test_a_time_budget_stops_before_an_epoch_that_would_overrun():
    _, log = train_spacy_ner(TRAIN, DEV, max_epochs=5, patience=5, max_seconds=1e-6, **SETTINGS)
    assert len(log["epochs"]) == 1 and log["stopped_by_time"] and not log["stopped_early"]


def _scripted_scores(monkeypatch, f1s: list[float]) -> None:
    """Make the dev evaluation of training return these strict F1s, one per epoch."""
    script = iter(f1s)

    def scores(*args, **kwargs):
        scheme = SimpleNamespace(f1=next(script))
        return SimpleNamespace(micro={"strict": scheme, "partial": scheme})

    monkeypatch.setattr(spacy_ner, "score_entities", scores)


def _weights(nlp):
    return nlp.get_pipe("ner").model.to_bytes()


def test_patience_stops_training_and_restores_the_best_epochs_weights(monkeypatch):
    # Scripted dev scores: the best is epoch 2; with patience 2, epochs 3 and 4 end the run.
    _scripted_scores(monkeypatch, [0.2, 0.5, 0.4, 0.3, 0.9])
    nlp, log = train_spacy_ner(TRAIN, DEV, max_epochs=5, patience=2, **SETTINGS)
    assert [entry["dev_strict_f1"] for entry in log["epochs"]] == [0.2, 0.5, 0.4, 0.3]
    assert log["best_epoch"] == 2 and log["stopped_early"]
    assert nlp.meta["bioie_kedro"]["best_epoch"] == 2

    # Training is deterministic under its seed, so the same run cut after two (improving)
    # epochs has the best epoch's weights, and one of four has the last epoch's.
    _scripted_scores(monkeypatch, [0.1, 0.2])
    two_epochs, _ = train_spacy_ner(TRAIN, DEV, max_epochs=2, patience=5, **SETTINGS)
    _scripted_scores(monkeypatch, [0.1, 0.2, 0.3, 0.4])
    four_epochs, _ = train_spacy_ner(TRAIN, DEV, max_epochs=4, patience=5, **SETTINGS)
    assert _weights(nlp) == _weights(two_epochs) != _weights(four_epochs)


def test_save_and_load_round_trip_predicts_the_same(trained, tmp_path):
    nlp, _ = trained
    save_spacy_ner(nlp, tmp_path / "spacy_ner")
    loaded = load_spacy_ner(tmp_path / "spacy_ner")
    assert loaded.pipe_names == ["ner"]
    assert loaded.meta["bioie_kedro"]["type_map"] == TYPE_MAP
    before, _ = predict_spacy_ner(nlp, [*TRAIN, NEW])
    after, _ = predict_spacy_ner(loaded, [*TRAIN, NEW])
    assert before == after


def test_load_of_a_directory_that_is_not_a_pipeline_fails(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved spaCy pipeline"):
        load_spacy_ner(tmp_path)


def test_documents_without_sentences_or_entities(trained):
    nlp, _ = trained
    empty = make_doc("e", "")
    (predicted,), stats = predict_spacy_ner(nlp, [empty])
    assert predicted.entities == [] and stats["sentences"] == 0
    none, stats = predict_spacy_ner(nlp, [])
    assert none == [] and stats["sentences"] == 0

    unsegmented = Document("u", "demo", "test", "Asthma was seen.")
    with pytest.raises(ValueError, match="no sentences; segment it first"):
        predict_spacy_ner(nlp, [unsegmented])
    with pytest.raises(ValueError, match="no entity to learn"):
        train_spacy_ner([make_doc("n", "Nothing here."), empty], DEV, max_epochs=1)
