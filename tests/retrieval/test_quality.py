"""Retrieval units and the quality measures: label overlap@k by hand, random baseline, leak check."""

from __future__ import annotations

import pytest

from bioie_kedro.retrieval.quality import (
    label_overlap,
    leak_check,
    overlap_against_random,
    random_retrieval,
)
from bioie_kedro.retrieval.units import RetrievalUnit, retrieval_units
from bioie_kedro.schema import Document, Entity, Sentence


def u(unit_id: str, types=(), mentions=(), text=None) -> RetrievalUnit:
    return RetrievalUnit(unit_id, unit_id, text or unit_id, frozenset(types), frozenset(mentions))


POOL = {
    "p1": u("p1", {"Chemical"}, {"lithium"}),
    "p2": u("p2", {"Disease"}, {"cancer"}),
    "p3": u("p3", {"Chemical", "Disease"}, {"cisplatin", "toxicity"}),
    "p4": u("p4"),
}


def test_label_overlap_by_hand():
    queries = [
        u("q1", {"Chemical"}, {"lithium", "toxicity"}),
        u("q2", {"Disease"}, {"cancer"}),
        u("q3"),  # no gold entity: counted apart
        u("q4", {"Disease"}, {"x"}),  # nothing retrieved: counted apart
    ]
    retrieved = {"q1": ["p1", "p2", "p3", "p4"], "q2": ["p4", "p2", "p1"], "q3": ["p1"]}
    result = label_overlap(queries, POOL, retrieved, k=3)
    # q1 top 3 = p1, p2, p3: types shared by p1 and p3 (2/3), mentions by p1 (lithium) and p3
    #   (toxicity) (2/3); q2 top 3 = p4, p2, p1: type by p2 (1/3), mention by p2 (1/3)
    assert result == {
        "k": 3,
        "queries": 2,
        "queries_without_entities": 1,
        "queries_without_examples": 1,
        "examples": 6,
        "type_overlap": pytest.approx((2 / 3 + 1 / 3) / 2, abs=1e-6),
        "mention_overlap": pytest.approx((2 / 3 + 1 / 3) / 2, abs=1e-6),
    }
    # k=1: q1 -> p1 (type and mention), q2 -> p4 (neither)
    top1 = label_overlap(queries, POOL, retrieved, k=1)
    assert (top1["type_overlap"], top1["mention_overlap"]) == (0.5, 0.5)


def test_random_retrieval_is_seeded_and_excludes():
    ids = [f"p{i}" for i in range(50)]
    first = random_retrieval(["q1", "q2"], ids, 5, seed=3, exclude={"q1": {"p0", "p1"}})
    assert first == random_retrieval(["q1", "q2"], ids, 5, seed=3, exclude={"q1": {"p0", "p1"}})
    assert all(len(v) == 5 and len(set(v)) == 5 for v in first.values())
    assert not {"p0", "p1"} & set(first["q1"])
    assert len(random_retrieval(["q1"], ids[:3], 5, seed=0)["q1"]) == 3


def test_overlap_against_random_reports_lift():
    queries = [u("q1", {"Chemical"}, {"lithium"})]
    pool = list(POOL.values())
    result = overlap_against_random(queries, pool, {"q1": ["p1"]}, k=1, seed=0)
    assert result["retrieved"]["type_overlap"] == 1.0
    assert set(result) == {"retrieved", "random", "lift"}


def test_leak_check_counts_exact_text_in_the_pool():
    pool = [u("p1", text="Same text."), u("p2", text="Other."), u("p3", text="Same text.")]
    queries = [u("q1", text="Same text."), u("q2", text="same text."), u("q3", text="New.")]
    assert leak_check(queries, pool) == {
        "queries": 3,
        "queries_in_training_pool": 1,
        "examples": [{"query_id": "q1", "training_ids": ["p1", "p3"]}],
    }


def make_doc() -> Document:
    text = "Lithium toxicity. Breast cancer risk."
    return Document(
        "d1",
        "toy",
        "train",
        text,
        entities=[
            Entity("T1", "Chemical", "Lithium", [(0, 7)]),
            Entity("T2", "SpecificDisease", "Breast cancer", [(18, 31)]),
        ],
        sentences=[Sentence(0, 17), Sentence(18, 37)],
    )


def test_units_per_document_and_per_sentence():
    (whole,) = retrieval_units([make_doc()], "document", type_map={"SpecificDisease": "Disease"})
    assert (whole.id, whole.text) == ("d1", make_doc().text)
    assert whole.entity_types == {"Chemical", "Disease"}
    assert whole.mentions == {"lithium", "breast cancer"}
    first, second = retrieval_units([make_doc()], "sentence")
    assert (first.id, first.text, first.entity_types) == ("d1#0", "Lithium toxicity.", {"Chemical"})
    assert (second.id, second.document_id, second.mentions) == ("d1#1", "d1", {"breast cancer"})


def test_sentence_units_need_sentences():
    doc = make_doc()
    doc.sentences = []
    with pytest.raises(ValueError, match="'d1' of toy/train has no sentences"):
        retrieval_units([doc], "sentence")
    with pytest.raises(ValueError, match="granularity"):
        retrieval_units([doc], "paragraph")
