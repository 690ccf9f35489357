"""VectorIndex (FAISS exact and approximate, id map) and FaissIndexDataset (versioned directory)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from kedro.io import DatasetError, Version

from bioie_kedro.datasets import FaissIndexDataset
from bioie_kedro.retrieval.embedders import HashingEmbedder
from bioie_kedro.retrieval.index import METADATA_FILE, IndexSettings, VectorIndex
from tests.retrieval.builders import unit


def random_unit(count: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_exact_search_matches_brute_force_with_ids():
    pool, queries = random_unit(50), random_unit(7, seed=1)
    ids = [f"doc{i}" for i in range(50)]
    index = VectorIndex.build(pool, ids)
    assert (index.kind, len(index), index.dimension, index.exact) == ("flat", 50, 16, True)
    scores, positions = index.search(queries, 5)
    expected = np.argsort(-(queries @ pool.T), axis=1)[:, :5]
    np.testing.assert_array_equal(positions, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ pool.T, expected, 1), atol=1e-5)
    found = index.search_ids(queries[:1], 2)[0]
    assert [i for i, _ in found] == [ids[p] for p in expected[0, :2]]
    assert index.position("doc7") == 7
    np.testing.assert_allclose(index.vectors([3, 1]), pool[[3, 1]])


def test_more_neighbours_than_vectors_gives_the_whole_pool():
    index = VectorIndex.build(unit([1, 0], [0, 1], [1, 1]), ["a", "b", "c"])
    scores, positions = index.search(unit([1, 0]), 10)
    assert positions.shape == (1, 3) and positions[0].tolist() == [0, 2, 1]


def test_build_refuses_bad_input():
    with pytest.raises(ValueError, match="2 vectors but 1 ids"):
        VectorIndex.build(unit([1, 0], [0, 1]), ["a"])
    with pytest.raises(ValueError, match="unique"):
        VectorIndex.build(unit([1, 0], [0, 1]), ["a", "a"])
    with pytest.raises(ValueError, match="dimension 3"):
        VectorIndex.build(unit([1, 0], [0, 1]), ["a", "b"]).search(unit([1, 0, 0]), 1)


def test_auto_kind_by_size():
    settings = IndexSettings(kind="auto", exact_max_size=20)
    assert VectorIndex.build(random_unit(20), [str(i) for i in range(20)], settings=settings).exact
    approximate = VectorIndex.build(random_unit(21), [str(i) for i in range(21)], settings=settings)
    assert approximate.kind == "hnsw" and not approximate.exact


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_and_load_give_identical_results(tmp_path, kind):
    pool, queries = random_unit(400, 32), random_unit(20, 32, seed=3)
    ids = [f"u{i}" for i in range(400)]
    settings = IndexSettings(kind=kind, hnsw_m=8, ivf_nlist=8, ivf_nprobe=2)
    index = VectorIndex.build(pool, ids, settings=settings, metadata={"corpus": "toy"})
    before = index.search(queries, 10)
    index.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index")
    after = loaded.search(queries, 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])
    assert (loaded.kind, loaded.ids, loaded.metadata, loaded.settings) == (
        kind,
        ids,
        {"corpus": "toy"},
        settings,
    )
    np.testing.assert_allclose(loaded.vectors([0, 5]), pool[[0, 5]], atol=1e-6)
    np.testing.assert_allclose(loaded.vectors()[399], pool[399], atol=1e-6)
    mapped = VectorIndex.load(tmp_path / "index", mmap=True).search(queries, 10)
    np.testing.assert_array_equal(before[1], mapped[1])
    if kind != "flat":  # approximate, but on 400 vectors nearly exact
        exact = VectorIndex.build(pool, ids).search(queries, 10)[1]
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(after[1], exact, strict=True)])
        assert recall >= 0.5


def test_load_needs_the_marker(tmp_path):
    index = VectorIndex.build(random_unit(5), list("abcde"))
    index.save(tmp_path / "index")
    (tmp_path / "index" / METADATA_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="holds no vector index"):
        VectorIndex.load(tmp_path / "index")


def test_embedder_settings_travel_with_the_index(tmp_path):
    texts = ["cisplatin nephrotoxicity", "lithium toxicity", "breast cancer risk"]
    embedder = HashingEmbedder(dimension=64)
    index = VectorIndex.build(
        embedder.encode(texts), ["a", "b", "c"], embedder_settings=embedder.settings()
    )
    index.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index")
    assert loaded.embedder_settings == {"kind": "hashing", "dimension": 64, "bigrams": True}
    assert loaded.search_texts(["toxicity of lithium"], k=1)[0][0][0] == "b"
    meta = json.loads((tmp_path / "index" / METADATA_FILE).read_text())
    assert (meta["kind"], meta["size"], meta["dimension"]) == ("flat", 3, 64)


def test_faiss_index_dataset_versioned_round_trip(tmp_path):
    path = str(tmp_path / "retrieval" / "index")
    pool, queries = random_unit(30), random_unit(4, seed=9)
    index = VectorIndex.build(pool, [f"d{i}" for i in range(30)])
    dataset = FaissIndexDataset(path=path, version=Version(None, "2026-01-01T00.00.00.000Z"))
    assert not dataset.exists()
    dataset.save(index)
    assert dataset.exists()
    saved = tmp_path / "retrieval" / "index" / "2026-01-01T00.00.00.000Z" / "index"
    assert sorted(p.name for p in saved.iterdir()) == [
        "bioie_vector_index.json",
        "ids.json",
        "index.faiss",
    ]
    assert not list(saved.parent.glob("*.partial-*"))
    loaded = FaissIndexDataset(path=path, version=Version(None, None)).load()
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], index.search(queries, 5)[1])
    assert dataset._describe()["path"] == path
    pickle.loads(pickle.dumps(dataset))  # no lambdas or modules inside
    with pytest.raises(DatasetError, match="saves a bioie_kedro.retrieval.VectorIndex"):
        dataset.save({"not": "an index"})
    (saved / METADATA_FILE).unlink()
    with pytest.raises(DatasetError):
        FaissIndexDataset(path=path, version=Version("2026-01-01T00.00.00.000Z", None)).load()
