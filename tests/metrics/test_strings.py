"""Tests for string-level scoring of instruction-style answers (IEPile / RA-IT semantics)."""

from __future__ import annotations

import pytest

from bioie_kedro.metrics import (
    StringRecord,
    merge_chunk_predictions,
    normalize_mention,
    score_strings,
)


def units(scores) -> tuple:
    pooled = scores.pooled.scores
    return (pooled.true_positives, pooled.predicted, pooled.support)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Breast Cancer", "breast cancer"),
        ("the  Parkinson's disease.", "parkinsons disease"),  # article, apostrophe, stop, spaces
        ("an IL-2 receptor", "il2 receptor"),  # punctuation is deleted, not replaced by a space
        ("theophylline", "theophylline"),  # "the" only as a word
        ("Hepatitis A", "hepatitis"),  # "a" is an article as a word, even here
        ("α–tocopherol (vitamin E)", "αtocopherol vitamin e"),  # en dash and brackets
        ("  ", ""),
    ],
)
def test_normalize_mention(raw, normalized):
    assert normalize_mention(raw) == normalized


def test_multiset_versus_set_matching():
    record = StringRecord(
        "r1",
        "ncbi",
        gold={"Disease": ["cancer", "cancer", "tumor"]},
        predicted={"Disease": ["cancer", "cancer", "cancer", "fever"]},
    )
    # Multiset: gold cancer x2 + tumor (3 units), predicted cancer x3 + fever (4 units);
    # TP = min(2, 3) = 2 -> P = 2/4, R = 2/3, F1 = 2 * 2 / (4 + 3) = 4/7.
    multiset = score_strings([record], bootstrap=0)
    assert units(multiset) == (2, 4, 3)
    assert multiset.pooled.scores.f1 == pytest.approx(4 / 7)
    # Set: gold {cancer, tumor}, predicted {cancer, fever}: TP 1 of 2 and 2 -> P = R = F1 = 1/2.
    as_set = score_strings([record], matching="set", bootstrap=0)
    assert units(as_set) == (1, 2, 2)
    assert as_set.pooled.scores.f1 == pytest.approx(0.5)
    with pytest.raises(ValueError, match="matching"):
        score_strings([record], matching="bag")  # type: ignore[arg-type]


def test_keys_are_part_of_the_unit():
    record = StringRecord(
        "r1", "bc5cdr", gold={"Chemical": ["lithium"]}, predicted={"Disease": ["lithium"]}
    )
    assert units(score_strings([record], bootstrap=0)) == (0, 1, 1)  # same string, other type


def test_normalisation_is_optional():
    record = StringRecord(
        "r1",
        "ncbi",
        gold={"Disease": ["Breast cancer"]},
        predicted={"Disease": ["the breast cancer."]},
    )
    assert units(score_strings([record], bootstrap=0)) == (0, 1, 1)  # exact strings differ
    assert units(score_strings([record], normalize=True, bootstrap=0)) == (1, 1, 1)


def test_relation_items_as_mappings_and_tuples():
    gold = {"CID": [{"head": "cisplatin", "tail": "nephrotoxicity"}]}
    same = StringRecord("r1", "re", gold, {"CID": [("cisplatin", "nephrotoxicity")]})
    reordered_keys = StringRecord(
        "r2", "re", gold, {"CID": [{"tail": "nephrotoxicity", "head": "cisplatin"}]}
    )
    swapped = StringRecord("r3", "re", gold, {"CID": [("nephrotoxicity", "cisplatin")]})
    scores = score_strings([same, reordered_keys, swapped], bootstrap=0)
    # r1 and r2 match (TP 1 each); r3 inverts head and tail (TP 0): TP 2, predicted 3, gold 3.
    assert units(scores) == (2, 3, 3)
    # Normalisation applies to each component of the pair.
    shouting = StringRecord("r4", "re", gold, {"CID": [("Cisplatin", "Nephrotoxicity.")]})
    assert units(score_strings([shouting], normalize=True, bootstrap=0)) == (1, 1, 1)


def test_bare_values_and_nulls_under_a_key():
    record = StringRecord(
        "r1",
        "x",
        gold={"Disease": ["cancer"], "Gene": []},
        predicted={"Disease": "cancer", "Gene": None},
    )
    # A bare string is a one-item list (not its characters); None is an empty list.
    assert units(score_strings([record], bootstrap=0)) == (1, 1, 1)


def test_parse_failures_are_counted_and_their_gold_is_missed():
    records = [
        StringRecord("r1", "A", {"Disease": ["cancer"]}, {"Disease": ["cancer"]}),
        StringRecord("r2", "A", {"Disease": ["tumor", "fever"]}, None),
        StringRecord("r3", "B", {"Chemical": ["lithium"]}, {"Chemical": ["lithium", "salt"]}),
    ]
    scores = score_strings(records, bootstrap=0)
    # Pooled: TP 1 (r1) + 0 (r2) + 1 (r3) = 2; predicted 1 + 0 + 2 = 3; gold 1 + 2 + 1 = 4.
    # P = 2/3, R = 2/4.
    assert units(scores) == (2, 3, 4)
    assert scores.pooled.scores.recall == pytest.approx(0.5)
    assert (scores.pooled.records, scores.pooled.unparsable) == (3, 1)
    # Source A: TP 1, predicted 1, gold 3 (r2's two are missed): P 1, R 1/3; one unparsable.
    a = scores.per_source["A"]
    assert (a.scores.true_positives, a.scores.predicted, a.scores.support) == (1, 1, 3)
    assert (a.records, a.unparsable) == (2, 1)
    b = scores.per_source["B"]
    assert (b.scores.precision, b.scores.recall, b.unparsable) == (0.5, 1.0, 0)
    out = scores.as_dict()
    assert out["pooled"]["unparsable"] == 1 and out["per_source"]["A"]["unparsable"] == 1
    assert out["matching"] == "multiset" and out["normalize"] is False


def test_merge_chunk_predictions():
    gold = {"Disease": ["cancer", "cancer"], "Chemical": ["lithium"]}
    chunks = [
        StringRecord("t1", "iepile", gold, {"Disease": ["cancer"]}),
        StringRecord("t2", "iepile", {"Disease": []}, {"Disease": []}),
        StringRecord("t1", "iepile", gold, {"Chemical": ["lithium"], "Disease": ["cancer"]}),
        StringRecord("t2", "iepile", {"Disease": []}, None),
    ]
    merged = merge_chunk_predictions(chunks)
    assert [r.id for r in merged] == ["t1", "t2"]
    # Per key concatenation in chunk order: Disease [cancer] + [cancer]; Chemical [lithium].
    assert merged[0].predicted == {"Disease": ["cancer", "cancer"], "Chemical": ["lithium"]}
    assert merged[0].gold is gold
    assert merged[1].predicted is None  # one chunk unparsable -> the text is unparsable
    scores = score_strings(merged, bootstrap=0)
    # t1: multiset TP 2 (cancer x2) + 1 (lithium) = 3 of 3 and 3; t2: no gold, unparsable.
    assert units(scores) == (3, 3, 3) and scores.pooled.unparsable == 1
    with pytest.raises(ValueError, match="merge_chunk_predictions"):
        score_strings(chunks)


def test_bootstrap_over_records():
    records = [
        StringRecord(f"r{i}", "A", {"D": ["x", "y"]}, {"D": ["x", "y"] if i % 2 else ["x", "z"]})
        for i in range(20)
    ]
    scores = score_strings(records, bootstrap=400, seed=1)
    # Half the records TP 2 of 2, half TP 1 of 2: TP 30, predicted 40, gold 40 -> F1 0.75.
    assert scores.pooled.scores.f1 == pytest.approx(0.75)
    low, high = scores.pooled.scores.f1_ci
    assert low < 0.75 < high
    assert scores.per_source["A"].scores.f1_ci == (low, high)  # one source: same resamples
    assert score_strings(records, bootstrap=400, seed=1) == scores
    assert score_strings([], bootstrap=10).pooled.scores.f1_ci == (0.0, 0.0)
