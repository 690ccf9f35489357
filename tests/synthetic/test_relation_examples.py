"""Labelled examples, the min_sample_count filter, the split by document, the DatasetDict on disk."""

from __future__ import annotations

from collections import Counter

import pytest

from bioie_kedro.relation_extraction import RelationSpec, sentence_units
from bioie_kedro.relation_extraction.examples import (
    filter_rare_labels,
    gold_pair_labels,
    label_names,
    relation_examples,
    split_by_document,
    to_dataset_dict,
)
from bioie_kedro.schema import Document, Entity, Relation
from bioie_kedro.segmentation import segment_document

SPEC = RelationSpec.from_mapping({"Chemical|Disease": ["treats", "causes"]})


def toy_doc(doc_id: str, relations: list[Relation] | None = None) -> Document:
    text = "Aspirin caused ulcers. Heparin treats thrombosis and aspirin."
    spans = {
        "C1": ("Chemical", 0, 7),
        "D1": ("Disease", 15, 21),
        "C2": ("Chemical", 23, 30),
        "D2": ("Disease", 38, 48),
        "C3": ("Chemical", 53, 60),
    }
    entities = [Entity(eid, t, text[s:e], [(s, e)]) for eid, (t, s, e) in spans.items()]
    return segment_document(
        Document(doc_id, "toy", "train", text, entities=entities, relations=relations or [])
    )


def test_every_candidate_pair_becomes_an_example_labelled_or_none():
    doc = toy_doc("d1")
    units, _ = sentence_units(doc)
    labels = {
        units[0].key: {("C1", "D1"): "causes"},
        units[1].key: {("C2", "D2"): "treats", ("D2", "C2"): "treats", ("C3", "D9"): "causes"},
    }
    rows, counts = relation_examples(units, labels, SPEC)
    assert [(r["head_id"], r["tail_id"], r["label"]) for r in rows] == [
        ("C1", "D1", "causes"),
        ("C2", "D2", "treats"),
        ("C3", "D2", "none"),
    ]
    assert rows[2]["text"] == "Heparin treats [E2]thrombosis[/E2] and [E1]aspirin[/E1]."
    assert rows[0]["document_key"] == "toy/train/d1" and rows[0]["sentence_key"].endswith("/s0")
    # (D2, C2) is not a candidate (Disease|Chemical is not in the spec), nor is (C3, D9)
    assert counts["labels_not_on_a_candidate"] == 2
    assert counts["candidate_pairs"] == 3


def test_blinded_examples_read_the_types_of_the_pair_and_keep_everything_else():
    doc = toy_doc("d1")
    units, _ = sentence_units(doc)
    rows, counts = relation_examples(units, {}, SPEC, entity_text="type")
    assert [r["text"] for r in rows] == [
        "[E1]@CHEMICAL$[/E1] caused [E2]@DISEASE$[/E2].",
        "[E1]@CHEMICAL$[/E1] treats [E2]@DISEASE$[/E2] and aspirin.",
        # the tail before the head; the other chemical keeps its name
        "Heparin treats [E2]@DISEASE$[/E2] and [E1]@CHEMICAL$[/E1].",
    ]
    assert counts["pairs_blinded"] == 3 and counts["nested_pairs_not_blinded"] == 0
    kept, kept_counts = relation_examples(units, {}, SPEC)
    assert [r["id"] for r in kept] == [r["id"] for r in rows]
    assert "pairs_blinded" not in kept_counts


def test_all_types_examples_blind_the_other_mentions_too_and_count_them():
    doc = toy_doc("d1")
    units, _ = sentence_units(doc)
    rows, counts = relation_examples(units, {}, SPEC, entity_text="all_types")
    assert [r["text"] for r in rows] == [
        "[E1]@CHEMICAL$[/E1] caused [E2]@DISEASE$[/E2].",
        "[E1]@CHEMICAL$[/E1] treats [E2]@DISEASE$[/E2] and @CHEMICAL$.",
        "@CHEMICAL$ treats [E2]@DISEASE$[/E2] and [E1]@CHEMICAL$[/E1].",
    ]
    assert counts["pairs_blinded"] == 3
    assert counts["other_mentions_blinded"] == 2 and counts["other_mentions_not_blinded"] == 0
    _, type_counts = relation_examples(units, {}, SPEC, entity_text="type")
    assert "other_mentions_blinded" not in type_counts


def test_nested_pairs_are_not_blinded_and_are_counted():
    text = "NF-kB inhibitor binds."
    entities = [
        Entity("C1", "Chemical", "NF-kB inhibitor", [(0, 15)]),
        Entity("D1", "Disease", "inhibitor", [(6, 15)]),
    ]
    doc = segment_document(Document("n", "toy", "train", text, entities=entities))
    units, _ = sentence_units(doc)
    rows, counts = relation_examples(units, {}, SPEC, entity_text="type")
    assert [r["text"] for r in rows] == ["[E1]NF-kB [E2]inhibitor[/E2][/E1] binds."]
    assert counts["nested_pairs_not_blinded"] == 1 and counts["pairs_blinded"] == 0


def test_same_text_pairs_can_be_skipped_as_none_by_rule_and_are_counted():
    text = "Aspirin and ASPIRIN  x, or aspirin with Heparin."
    spans = {"A1": (0, 7), "A2": (12, 19), "A3": (27, 34), "H1": (40, 47)}
    entities = [Entity(eid, "Drug", text[s:e], [(s, e)]) for eid, (s, e) in spans.items()]
    doc = segment_document(Document("d1", "toy", "train", text, entities=entities))
    units, _ = sentence_units(doc)
    spec = RelationSpec.from_mapping({"Drug|Drug": ["effect"]})
    labels = {units[0].key: {("A1", "A2"): "effect", ("A3", "H1"): "effect"}}

    kept, kept_counts = relation_examples(units, labels, spec, pair_order="text")
    assert len(kept) == 6 and "same_text_pairs_skipped" not in kept_counts
    rows, counts = relation_examples(units, labels, spec, pair_order="text", same_text_pairs="skip")
    # A1/A2/A3 name one drug (case folded): their three pairs go; each with H1 stays
    assert [(r["head_id"], r["tail_id"], r["label"]) for r in rows] == [
        ("A1", "H1", "none"),
        ("A2", "H1", "none"),
        ("A3", "H1", "effect"),
    ]
    assert counts["same_text_pairs_skipped"] == 3 and counts["candidate_pairs"] == 3
    # the label on a skipped pair is not lost silently
    assert counts["labels_not_on_a_candidate"] == 1
    with pytest.raises(ValueError, match="same_text_pairs must be"):
        relation_examples(units, labels, spec, same_text_pairs="drop")


def test_a_label_not_allowed_for_the_pair_types_becomes_none():
    spec = RelationSpec.from_mapping(
        {"Chemical|Disease": ["treats"], "Gene|Disease": ["biomarker_for"]}
    )
    doc = toy_doc("d1")
    units, _ = sentence_units(doc)
    rows, counts = relation_examples(units, {units[0].key: {("C1", "D1"): "biomarker_for"}}, spec)
    assert rows[0]["label"] == "none" and counts["labels_not_allowed_for_types"] == 1


def test_min_sample_count_drops_rare_relations_but_never_none():
    rows = [{"label": label} for label in ["none"] * 1 + ["treats"] * 3 + ["causes"] * 2]
    kept, dropped = filter_rare_labels(rows, 3)
    assert Counter(r["label"] for r in kept) == {"treats": 3, "none": 1}
    assert dropped == {"causes": 2}
    assert filter_rare_labels(rows, 1) == (rows, {})


def test_split_by_document_is_seeded_deterministic_and_disjoint():
    keys = [f"toy/train/d{i}" for i in range(10)]
    first = split_by_document(keys, seed=7)
    assert first == split_by_document(list(reversed(keys)), seed=7)
    assert first != split_by_document(keys, seed=8)
    assert Counter(first.values()) == {"train": 6, "validation": 2, "test": 2}
    assert Counter(split_by_document(keys[:3], seed=1).values()) == {
        "train": 1,
        "validation": 1,
        "test": 1,
    }
    assert split_by_document([], seed=1) == {}
    with pytest.raises(ValueError, match="summing to 1"):
        split_by_document(keys, fractions=(0.5, 0.2, 0.2))


def test_no_document_gives_examples_to_two_splits(tmp_path):
    from bioie_kedro.datasets import DatasetDictDataset

    docs = [toy_doc(f"d{i}") for i in range(12)]
    rows = []
    for doc in docs:
        units, _ = sentence_units(doc)
        doc_rows, _ = relation_examples(units, {units[0].key: {("C1", "D1"): "causes"}}, SPEC)
        rows += doc_rows
    assignment = split_by_document((r["document_key"] for r in rows), seed=3)
    by_split = {
        s: [r for r in rows if assignment[r["document_key"]] == s]
        for s in ("train", "validation", "test")
    }
    dataset = to_dataset_dict(by_split, label_names(rows))
    assert dataset["train"].features["label"].names == ["none", "causes"]
    documents = {split: set(dataset[split]["document_key"]) for split in dataset}
    assert not documents["train"] & documents["validation"]
    assert not documents["train"] & documents["test"]
    assert not documents["validation"] & documents["test"]
    assert sum(len(d) for d in documents.values()) == 12

    store = DatasetDictDataset(path=str(tmp_path / "relations"))
    assert not store.exists()
    store.save(dataset)
    assert (tmp_path / "relations" / "dataset_dict.json").is_file()
    assert not list(tmp_path.glob("*.partial-*"))
    loaded = store.load()
    assert loaded["test"].to_list() == dataset["test"].to_list()
    assert loaded["test"].features == dataset["test"].features


def test_dataset_dict_dataset_refuses_wrong_input(tmp_path):
    from kedro.io import DatasetError

    from bioie_kedro.datasets import DatasetDictDataset

    with pytest.raises(DatasetError, match="saves a datasets.DatasetDict"):
        DatasetDictDataset(path=str(tmp_path / "x")).save({"train": []})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no Hugging Face DatasetDict"):
        DatasetDictDataset(path=str(tmp_path / "empty")).load()


def test_gold_relations_label_the_pairs_of_their_sentence():
    doc = toy_doc(
        "d1",
        [
            Relation("R1", "causes", "C1", "D1"),
            Relation("R2", "treats", "C2", "D1"),  # across sentences
            Relation("R3", "none", "C3", "D2"),  # a negative pair: no label
            Relation("R4", "treats", "C2", "D2"),
            Relation("R5", "causes", "C2", "D2"),  # a second label on the same pair
        ],
    )
    units, _ = sentence_units(doc)
    labels, counts = gold_pair_labels(doc, units)
    assert labels == {
        units[0].key: {("C1", "D1"): "causes"},
        units[1].key: {("C2", "D2"): "treats"},
    }
    assert counts == {
        "gold_relations": 4,
        "gold_relations_across_sentences": 1,
        "gold_relations_conflicting": 1,
    }
