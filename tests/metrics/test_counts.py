"""Tests for the shared arithmetic: PRF conventions and the bootstrap over documents."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from bioie_kedro.metrics import PRF, bootstrap_f1_ci
from bioie_kedro.metrics.counts import bootstrap_sums, f1_from_counts, prf_arrays
from bioie_kedro.metrics.ner import semeval_f1


def test_prf_from_counts_hand_computed():
    scores = PRF.from_counts(3, 4, 6)
    assert scores.precision == pytest.approx(0.75)  # 3 / 4
    assert scores.recall == pytest.approx(0.5)  # 3 / 6
    assert scores.f1 == pytest.approx(0.6)  # 2 * 0.75 * 0.5 / 1.25
    assert (scores.false_positives, scores.false_negatives) == (1, 3)  # 4 - 3, 6 - 3
    assert scores.as_dict()["support"] == 6
    assert scores.as_dict()["f1_ci"] is None


def test_prf_zero_denominators_are_zero_and_support_tells_them_apart():
    nothing = PRF.from_counts(0, 0, 0)  # no gold and no prediction: 0.0 by convention, not 1.0
    assert (nothing.precision, nothing.recall, nothing.f1, nothing.support) == (0.0, 0.0, 0.0, 0)
    silent = PRF.from_counts(0, 0, 5)  # predicts nothing on 5 gold items
    assert (silent.precision, silent.recall, silent.f1, silent.support) == (0.0, 0.0, 0.0, 5)


def test_prf_arrays_vectorised_matches_scalar():
    credit, predicted, gold = np.array([1, 0, 2]), np.array([2, 0, 2]), np.array([4, 3, 2])
    precision, recall, f1 = prf_arrays(credit, predicted, gold)
    assert precision.tolist() == pytest.approx([0.5, 0.0, 1.0])  # 1/2, 0/0 -> 0, 2/2
    assert recall.tolist() == pytest.approx([0.25, 0.0, 1.0])  # 1/4, 0/3, 2/2
    assert f1.tolist() == pytest.approx([1 / 3, 0.0, 1.0])  # 2*.5*.25/.75, 0, 1


def _documents() -> np.ndarray:
    rng = np.random.default_rng(1)
    gold = rng.integers(5, 15, size=40)
    true_positives = rng.binomial(gold, 0.8)
    predicted = true_positives + rng.integers(0, 4, size=40)
    return np.stack([true_positives, predicted, gold], axis=1)


def test_bootstrap_ci_contains_point_estimate_and_is_reproducible():
    counts = _documents()
    point = float(f1_from_counts(counts.sum(axis=0)))
    low, high = bootstrap_f1_ci(counts, resamples=1000, seed=7)
    assert low < point < high
    assert high - low < 0.2
    assert bootstrap_f1_ci(counts, resamples=1000, seed=7) == (low, high)  # same seed, same CI
    assert bootstrap_f1_ci(counts, resamples=1000, seed=8) != (low, high)
    narrower = bootstrap_f1_ci(counts, resamples=1000, seed=7, confidence=0.5)
    assert low <= narrower[0] <= narrower[1] <= high


def test_bootstrap_resamples_whole_documents():
    counts = _documents()
    sums = bootstrap_sums(counts, resamples=300, seed=0)
    assert sums.shape == (300, 3)
    # Every resample draws 40 documents, each of which has gold >= 5 and <= 14.
    assert (sums[:, 2] >= 40 * 5).all() and (sums[:, 2] <= 40 * 14).all()
    # Multi-dimensional counts share the resamples: column 0 of a (docs, 2, 3) stack equals the
    # 2-dimensional result with the same seed.
    stacked = np.stack([counts, counts * 2], axis=1)
    assert np.array_equal(bootstrap_sums(stacked, resamples=300, seed=0)[:, 0], sums)


def test_bootstrap_single_document_gives_a_point_interval_with_half_credit():
    # One document, SemEval counts COR=1, INC=0, PAR=2, MIS=0, SPU=1: every resample is that
    # document, so the interval is the point F1 = 2 * (1 + 0.5 * 2) / (ACT 4 + POS 3) = 4 / 7.
    # Without the half credit it would be 2 * 1 / 7 = 2 / 7.
    half = partial(semeval_f1, half_credit=True)
    low, high = bootstrap_f1_ci([[1, 0, 2, 0, 1]], f1=half, resamples=200)
    assert low == pytest.approx(4 / 7) and high == pytest.approx(4 / 7)


def test_bootstrap_two_documents_hand_computed_percentiles():
    # Documents A (COR=2) and B (PAR=2), partial scheme. A resample of 2 documents is AA (p=1/4),
    # AB (p=1/2) or BB (p=1/4):
    #   AA: credit 4 / ACT 4 / POS 4 -> F1 1.0;  AB: (2 + 1) / 4 / 4 -> 0.75;
    #   BB: (0 + 2) / 4 / 4 -> 0.5.
    # The 2.5th and 97.5th percentiles are therefore BB's 0.5 and AA's 1.0. Scoring B without
    # the half credit would put the lower bound at 0.0.
    half = partial(semeval_f1, half_credit=True)
    low, high = bootstrap_f1_ci([[2, 0, 0, 0, 0], [0, 0, 2, 0, 0]], f1=half, resamples=2000)
    assert (low, high) == (pytest.approx(0.5), pytest.approx(1.0))


def test_bootstrap_edge_cases():
    assert bootstrap_f1_ci(np.zeros((0, 3))) == (0.0, 0.0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_f1_ci([[1, 1, 1]], confidence=1.0)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_f1_ci([[1, 1, 1]], resamples=0)
