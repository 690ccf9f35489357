"""Embedders: one interface, unit-length float32 rows in input order, settings round trip."""

from __future__ import annotations

import numpy as np
import pytest

from bioie_kedro.retrieval.embedders import (
    FlagEmbedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    TransformersEmbedder,
    build_embedder,
    flag_embedding_available,
    l2_normalise,
)

TEXTS = [
    "Cisplatin causes nephrotoxicity in children.",
    "Nephrotoxicity in children treated with cisplatin.",
    "The weather in Paris is mild in spring.",
    "",
    "Lithium toxicity.",
]


def test_l2_normalise_keeps_zero_rows():
    out = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_hashing_embedder_is_deterministic_normalised_and_similarity_aware():
    embedder = HashingEmbedder(dimension=256)
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (5, 256) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2, 4]], 1.0, rtol=1e-6)
    assert norms[3] == 0.0  # no words: zero vector
    np.testing.assert_array_equal(vectors, HashingEmbedder(dimension=256).encode(TEXTS))
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.4 > abs(similarity[0, 2])
    # rows do not depend on the other texts of the call
    np.testing.assert_array_equal(embedder.encode(TEXTS[2:3])[0], vectors[2])


def test_build_embedder_round_trip_and_unknown_kind():
    embedder = HashingEmbedder(dimension=64, bigrams=False)
    rebuilt = build_embedder(embedder.settings())
    assert isinstance(rebuilt, HashingEmbedder) and rebuilt.settings() == embedder.settings()
    default = build_embedder({"kind": "sentence_transformers", "pooling": None})
    assert isinstance(default, SentenceTransformerEmbedder)
    assert default.model_name_or_path == "bundled:all-MiniLM-L6-v2"  # nothing loaded yet
    with pytest.raises(ValueError, match="unknown embedder kind 'nope'"):
        build_embedder({"kind": "nope"})


def test_transformers_embedder_pooling_and_batching(tiny_bert):
    mean = TransformersEmbedder(str(tiny_bert), pooling="mean", device="cpu")
    cls = TransformersEmbedder(str(tiny_bert), pooling="cls", device="cpu")
    texts = TEXTS[:3] + [" ".join(["nephrotoxicity"] * 800)]  # longer than 512 sub-tokens
    batched = mean.encode(texts, batch_size=64)
    one_by_one = np.vstack([mean.encode([t], batch_size=1) for t in texts])
    assert batched.shape == (4, 32)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)  # order and padding do not matter
    assert not np.allclose(cls.encode(texts[:1]), batched[:1], atol=1e-3)
    assert mean.encode([]).shape == (0, 32)
    with pytest.raises(ValueError, match="pooling"):
        TransformersEmbedder(str(tiny_bert), pooling="max")


@pytest.mark.skipif(flag_embedding_available(), reason="FlagEmbedding is installed")
def test_flag_embedder_without_flagembedding_says_what_to_do():
    with pytest.raises(ImportError, match="kind: transformers with pooling: cls"):
        FlagEmbedder("BAAI/bge-m3").encode(["x"])


def test_bundled_minilm_sentence_transformers_matches_transformers_mean_pooling():
    """The one test with the real model: five short texts, sentence-transformers vs our own
    mean pooling over the same weights."""
    texts = [
        "Cisplatin causes kidney damage.",
        "Kidney injury induced by cisplatin.",
        "The football match ended in a draw.",
        "Lithium toxicity in elderly patients.",
        "Elderly patients with lithium poisoning.",
    ]
    st = SentenceTransformerEmbedder(device="cpu").encode(texts, batch_size=2)
    assert st.shape == (5, 384) and st.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(st, axis=1), 1.0, rtol=1e-5)
    similarity = st @ st.T
    assert similarity[0, 1] > 0.6 > similarity[0, 2]
    assert similarity[3, 4] > similarity[3, 2]
    ours = TransformersEmbedder(pooling="mean", device="cpu").encode(texts)
    np.testing.assert_allclose(ours, st, atol=1e-4)
    # the pooling override (BGE-style CLS) is applied, and agrees with our CLS pooling
    st_cls = SentenceTransformerEmbedder(pooling="cls", device="cpu").encode(texts[:2])
    ours_cls = TransformersEmbedder(pooling="cls", device="cpu").encode(texts[:2])
    np.testing.assert_allclose(st_cls, ours_cls, atol=1e-4)
    assert np.abs(st_cls - st[:2]).max() > 0.1
