"""RA-IT neighbours: never the sample itself nor a duplicate of its text; strategies; seeds."""

from __future__ import annotations

import numpy as np
import pytest

from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.embedders import HashingEmbedder
from bioie_kedro.retrieval.index import VectorIndex
from bioie_kedro.retrieval.neighbours import (
    RAIT_STRATEGIES,
    NeighbourSettings,
    excluded_positions,
    rait_neighbours,
    summarise_neighbours,
)

WORDS = "cisplatin lithium toxicity kidney injury rats children breast cancer risk dose".split()


def pool_texts() -> list[str]:
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, size=6)) for _ in range(30)]
    texts[5] = texts[3]  # an exact duplicate under another id
    texts[9] = texts[3]
    return texts


def build(texts):
    embedder = HashingEmbedder(dimension=128)
    vectors = embedder.encode(texts)
    return VectorIndex.build(vectors, [f"s{i}" for i in range(len(texts))]), vectors


def run(texts, strategies=RAIT_STRATEGIES, **settings):
    index, vectors = build(texts)
    return rait_neighbours(
        index,
        index.ids,
        texts,
        vectors,
        texts,
        strategies,
        NeighbourSettings(**{"k": 2, "top": 10, "bm25_threshold": 0.0, **settings}),
    )


def test_never_the_sample_itself_nor_an_exact_duplicate():
    texts = pool_texts()
    out = run(texts)
    assert set(out) == set(RAIT_STRATEGIES)
    for strategy, by_sample in out.items():
        assert len(by_sample) == 30
        for sample, found in by_sample.items():
            own = int(sample[1:])
            assert len(found) == 2, (strategy, sample)
            for neighbour in found:
                assert neighbour["id"] != sample
                assert texts[int(neighbour["id"][1:])] != texts[own], (strategy, sample)
    # the duplicates of s3 never see each other
    for strategy in RAIT_STRATEGIES:
        assert not {"s3", "s5", "s9"} & {n["id"] for n in out[strategy]["s3"]}


def test_excluded_positions():
    assert excluded_positions(["a", "b", "z"], ["a", "b", "a"], [0, 1, None]) == [
        {0, 2},
        {1},
        set(),
    ]


def test_nearest_is_the_dense_top_k_and_diverse_stays_in_the_top():
    texts = pool_texts()
    index, vectors = build(texts)
    out = run(texts)
    similarity = vectors @ vectors.T
    for row in range(30):
        banned = {j for j in range(30) if texts[j] == texts[row]}
        allowed = [j for j in np.argsort(-similarity[row], kind="stable") if j not in banned]
        found = out["nearest"][f"s{row}"]
        assert [n["dense"] for n in found] == pytest.approx(
            [similarity[row, j] for j in allowed[:2]], abs=1e-5
        )
        assert [n["dense_rank"] for n in found] == [1, 2]
        diverse = out["diverse_nearest"][f"s{row}"]
        assert all(1 <= n["dense_rank"] <= 10 for n in diverse)
        assert diverse[0]["dense_rank"] < diverse[1]["dense_rank"]


def test_bm25_rerank_orders_the_top_by_bm25():
    texts = pool_texts()
    out = run(texts, strategies=["bm25_rerank"])
    bm25 = BM25Scorer(texts)
    for sample, found in out["bm25_rerank"].items():
        assert found[0]["bm25"] >= found[1]["bm25"]
        best_in_top = max(bm25.scores(texts[int(sample[1:])])[int(n["id"][1:])] for n in found)
        assert found[0]["bm25"] == pytest.approx(best_in_top, abs=1e-4)


def test_bm25_rejection_and_on_demand_empty_result():
    texts = pool_texts()
    rejected_all = run(texts, strategies=["nearest_bm25_reject"], bm25_threshold=1e9)
    assert all(found == [] for found in rejected_all["nearest_bm25_reject"].values())
    summary = summarise_neighbours(rejected_all, k=2)["nearest_bm25_reject"]
    assert summary == {
        "samples": 30,
        "without_examples": 30,
        "fewer_than_k": 30,
        "mean_examples": 0.0,
    }
    some = run(texts, strategies=["nearest_bm25_reject", "nearest"], bm25_threshold=2.0)
    for sample, found in some["nearest_bm25_reject"].items():
        assert all(n["bm25"] >= 2.0 for n in found)
        nearest_ids = [n["id"] for n in some["nearest"][sample]]
        assert [n["id"] for n in found] == [i for i in nearest_ids if i in {n["id"] for n in found}]


def test_deterministic_under_a_seed():
    texts = pool_texts()
    first = run(texts, seed=7)
    assert run(texts, seed=7) == first
    other = run(texts, seed=8)
    assert other["random"] != first["random"]
    assert other["diverse_nearest"] != first["diverse_nearest"]
    assert other["nearest"] == first["nearest"]


def test_unknown_strategy_and_tiny_pool():
    with pytest.raises(ValueError, match="unknown strategies"):
        run(pool_texts(), strategies=["closest"])
    texts = ["lithium toxicity", "lithium toxicity", "cisplatin injury"]
    out = run(texts, top=5)
    # s0 and s1 are duplicates: each has one allowed neighbour (fewer than k); s2 has both
    assert [n["id"] for n in out["nearest"]["s0"]] == ["s2"]
    assert [n["id"] for n in out["random"]["s1"]] == ["s2"]
    assert sorted(n["id"] for n in out["nearest"]["s2"]) == ["s0", "s1"]


def test_bm25_threshold_calibrated_by_quantile_rejects_that_share():
    texts = [f"aspirin dose {i} causes bleeding in patient group {i % 7}" for i in range(40)]
    texts += [f"unrelated sentence number {i} about weather" for i in range(40)]
    index, vectors = build(texts)
    settings = NeighbourSettings(k=2, top=10, bm25_threshold=1e9, bm25_quantile=0.5)
    report: dict = {}
    found = rait_neighbours(
        index,
        index.ids,
        texts,
        vectors,
        texts,
        ["nearest_bm25_reject", "nearest"],
        settings,
        report=report,
    )
    kept = sum(len(v) for v in found["nearest_bm25_reject"].values())
    total = sum(len(v) for v in found["nearest"].values())
    # the fixed threshold (1e9) is ignored; about half of the nearest examples pass the median
    assert report["bm25_threshold"] < 1e9
    assert 0.4 * total <= kept <= 0.6 * total + 2
    assert all(
        record["bm25"] >= report["bm25_threshold"]
        for records in found["nearest_bm25_reject"].values()
        for record in records
    )
    with pytest.raises(ValueError, match="bm25_quantile"):
        NeighbourSettings(bm25_quantile=1.5)
