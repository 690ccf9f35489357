"""Tests for relation extraction scoring: mention and concept level, direction, negatives."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bioie_kedro.metrics import DocumentMismatchError, score_relations
from bioie_kedro.schema import Document, validate_document
from tests.metrics.builders import make_entity, relation

DDI_TEXT = "Aspirin increases warfarin levels; ibuprofen does not affect digoxin."


def ddi_doc(relations, *, id_prefix: str = "T", doc_id: str = "d1") -> Document:
    """Four drugs; the entity ids carry ``id_prefix`` so gold and prediction ids differ."""
    names = ["Aspirin", "warfarin", "ibuprofen", "digoxin"]
    entities = [
        make_entity(DDI_TEXT, f"{id_prefix}{i}", "Drug", name) for i, name in enumerate(names)
    ]
    rels = [
        relation(f"R{i}", rtype, f"{id_prefix}{a}", f"{id_prefix}{b}")
        for i, (rtype, a, b) in enumerate(relations)
    ]
    return validate_document(
        Document(doc_id, "test", "test", DDI_TEXT, entities=entities, relations=rels)
    )


def test_mention_level_compares_spans_not_ids():
    gold = ddi_doc([("mechanism", 0, 1), ("none", 2, 3)])
    predicted = ddi_doc([("mechanism", 0, 1), ("effect", 2, 3), ("none", 0, 3)], id_prefix="P")
    scores = score_relations([gold], [predicted], bootstrap=0)
    # "none" dropped on both sides. Gold {mechanism(0,1)}; predicted {mechanism(0,1), effect(2,3)}.
    # TP 1, predicted 2, gold 1 -> P = 1/2, R = 1/1, F1 = 2/3.
    assert (scores.micro.true_positives, scores.micro.predicted, scores.micro.support) == (1, 2, 1)
    assert scores.micro.f1 == pytest.approx(2 / 3)
    # Per type: mechanism 1/1/1 -> 1.0; effect TP 0, predicted 1, gold 0 -> 0.0 (support 0).
    assert scores.per_type["mechanism"].f1 == 1.0
    assert scores.per_type["effect"].f1 == 0.0 and scores.per_type["effect"].support == 0
    assert "none" not in scores.per_type
    out = scores.as_dict()
    assert out["mode"] == "mention" and out["directed"] is True
    assert set(out["micro"]) >= {"precision", "recall", "f1", "f1_ci", "support"}


def test_swapped_head_and_tail_directed_and_undirected():
    gold = ddi_doc([("mechanism", 0, 1)])
    swapped = ddi_doc([("mechanism", 1, 0)], id_prefix="P")
    # Directed: (warfarin -> Aspirin) is not (Aspirin -> warfarin): TP 0, P = 0/1, R = 0/1.
    directed = score_relations([gold], [swapped], bootstrap=0)
    assert (directed.micro.true_positives, directed.micro.f1) == (0, 0.0)
    # Undirected: the pair matches: TP 1 of 1 -> 1.0.
    undirected = score_relations([gold], [swapped], directed=False, bootstrap=0)
    assert (undirected.micro.true_positives, undirected.micro.f1) == (1, 1.0)


def test_custom_negative_types():
    gold = ddi_doc([("mechanism", 0, 1), ("false", 2, 3)])
    predicted = ddi_doc([("mechanism", 0, 1), ("false", 2, 3)], id_prefix="P")
    kept = score_relations([gold], [predicted], bootstrap=0)
    assert kept.micro.support == 2  # "false" is a type like any other by default
    dropped = score_relations([gold], [predicted], negative_types={"false"}, bootstrap=0)
    assert dropped.micro.support == 1 and list(dropped.per_type) == ["mechanism"]


CDR_TEXT = "Cisplatin nephrotoxicity: kidney damage after cisplatin or carboplatin."


def cdr_doc(relations, *, id_prefix: str = "T", composite: bool = False) -> Document:
    """BC5CDR-like: two cisplatin mentions, two mentions of one disease concept, carboplatin
    without normalization (or with a composite normalization when ``composite``)."""
    entities = [
        make_entity(CDR_TEXT, f"{id_prefix}0", "Chemical", "Cisplatin", ["MESH:D002945"]),
        make_entity(CDR_TEXT, f"{id_prefix}1", "Disease", "nephrotoxicity", ["MESH:D007674"]),
        make_entity(CDR_TEXT, f"{id_prefix}2", "Disease", "kidney damage", ["MESH:D007674"]),
        make_entity(CDR_TEXT, f"{id_prefix}3", "Chemical", "cisplatin", ["MESH:D002945"]),
        make_entity(
            CDR_TEXT,
            f"{id_prefix}4",
            "Chemical",
            "carboplatin",
            ["MESH:D016190", "MESH:D002945"] if composite else [],
        ),
    ]
    rels = [
        relation(
            f"R{i}",
            rtype,
            a if ":" in a else f"{id_prefix}{a}",
            b if ":" in b else f"{id_prefix}{b}",
            level,
        )
        for i, (rtype, a, b, level) in enumerate(relations)
    ]
    return validate_document(
        Document("c1", "test", "test", CDR_TEXT, entities=entities, relations=rels)
    )


def test_concept_level_with_mention_level_predictions_mapped_to_concepts():
    gold = cdr_doc([("CID", "MESH:D002945", "MESH:D007674", "concept")])
    predicted = cdr_doc(
        [
            ("CID", "0", "1", "mention"),  # Cisplatin -> nephrotoxicity: D002945 -> D007674
            ("CID", "3", "2", "mention"),  # cisplatin -> kidney damage: the same concept pair
            ("CID", "4", "2", "mention"),  # carboplatin has no id: "carboplatin" -> D007674
        ],
        id_prefix="P",
    )
    scores = score_relations([gold], [predicted], mode="concept", bootstrap=0)
    # Predicted keys collapse to {(D002945, D007674), ("carboplatin", D007674)}; gold
    # {(D002945, D007674)}. TP 1, predicted 2, gold 1 -> P 1/2, R 1, F1 2/3.
    assert (scores.micro.true_positives, scores.micro.predicted, scores.micro.support) == (1, 2, 1)
    assert scores.micro.f1 == pytest.approx(2 / 3)
    # Gold given as mention-level relations gives the same keys as the concept-level gold.
    mention_gold = cdr_doc([("CID", "0", "1", "mention"), ("CID", "3", "2", "mention")])
    again = score_relations([mention_gold], [predicted], mode="concept", bootstrap=0)
    assert (again.micro.true_positives, again.micro.predicted, again.micro.support) == (1, 2, 1)


def test_concept_level_every_combination_of_normalizations():
    gold = cdr_doc([("CID", "MESH:D016190", "MESH:D007674", "concept")], composite=True)
    predicted = cdr_doc([("CID", "4", "1", "mention")], id_prefix="P", composite=True)
    scores = score_relations([gold], [predicted], mode="concept", bootstrap=0)
    # carboplatin is normalized to D016190 and D002945: two keys, (D016190, D007674) and
    # (D002945, D007674). TP 1 (the first), predicted 2, gold 1 -> P 1/2, R 1.
    assert (scores.micro.true_positives, scores.micro.predicted, scores.micro.support) == (1, 2, 1)


def test_concept_relations_need_concept_mode_and_arguments_must_exist():
    gold = cdr_doc([("CID", "MESH:D002945", "MESH:D007674", "concept")])
    with pytest.raises(ValueError, match="mode='concept'"):
        score_relations([gold], [gold])
    broken = ddi_doc([("mechanism", 0, 1)])
    broken = replace(broken, relations=[relation("R0", "mechanism", "T0", "T9")])
    with pytest.raises(ValueError, match="'T9'"):
        score_relations([ddi_doc([])], [broken])


def test_document_pairing_and_bootstrap():
    docs = [ddi_doc([("mechanism", 0, 1), ("effect", 2, 3)], doc_id=f"d{i}") for i in range(12)]
    predictions = [
        ddi_doc(
            [("mechanism", 0, 1)] if i % 3 else [("effect", 0, 1)], doc_id=f"d{i}", id_prefix="P"
        )
        for i in range(11)
    ]
    scores = score_relations(docs, predictions, bootstrap=500, seed=3)
    # Of d0..d10, 7 (i % 3 != 0) predict the right mechanism (TP 1), 4 (i = 0, 3, 6, 9) a wrong
    # effect (TP 0), and d11 nothing: TP 7, predicted 11, gold 12 * 2 = 24 -> P 7/11, R 7/24.
    assert (scores.micro.true_positives, scores.micro.predicted, scores.micro.support) == (
        7,
        11,
        24,
    )
    assert scores.micro.precision == pytest.approx(7 / 11)
    assert scores.micro.recall == pytest.approx(7 / 24)
    assert scores.documents_without_prediction == 1
    low, high = scores.micro.f1_ci
    assert low < scores.micro.f1 < high
    assert score_relations(docs, predictions, bootstrap=500, seed=3) == scores
    with pytest.raises(DocumentMismatchError, match="'x'"):
        score_relations(docs, [replace(docs[0], id="x")])
