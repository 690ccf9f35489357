"""Search speed of the FAISS index against numpy, and embedding throughput, side by side in one run.

Vector search (``--pool`` vectors, ``--queries`` queries, top ``--k``, ``--dim`` dimensions):

* ``faiss_exact`` — ``IndexFlatIP`` (what ``VectorIndex`` uses up to ``exact_max_size``), all queries
  in one ``search`` call;
* ``numpy_batched`` — a fair brute force: one float32 matrix product per block of ``--block``
  queries against the whole pool, ``argpartition`` for the top k, then those k sorted;
* ``numpy_loop`` — one query at a time (the seed's way: ``pool @ q``, ``argpartition``, sort), timed
  on the first ``--loop-queries`` queries and **extrapolated** to all queries (labelled so);
* ``faiss_hnsw`` — ``IndexHNSWFlat`` (inner product; what ``kind: auto`` picks above
  ``exact_max_size``) at each ``--ef-search``, with recall@k against the exact result; its build
  time is reported separately (it is paid once per index, searches are paid per query batch);
* optionally ``faiss_ivf`` (``--ivf-nlist``) at each ``--ivf-nprobe``;
* ``vector_index`` — the project's own ``VectorIndex`` (what the retrieval pipeline builds and
  searches) with the default ``IndexSettings`` of each ``--project-kinds`` kind, build included.

The exact index and numpy must return the same ids; the check compares id lists per query and
tells ties (equal scores in another order) apart from real differences.

The pool and queries are random unit vectors (standard normal, normalised, float32, seeded). The
exact methods' speed does not depend on the content of the vectors — every method computes the
same ``queries x pool`` inner products — so synthetic vectors let the pool be any size without
embedding 100,000 abstracts first. Random high-dimensional vectors are the hard case for an
approximate graph index (no cluster structure: all neighbours are nearly equidistant), so HNSW's
recall on them is a lower bound of what real embeddings give. ``--vectors clustered`` draws the pool
and queries around ``--clusters`` random centres instead (closer to the topic structure of real
embeddings; the exact methods' times do not change, the approximate indices' recall does).

``--vectors real`` embeds real biomedical text with the bundled all-MiniLM-L6-v2 (batches of 64):
every distinct sentence of the corpora in ``--data`` (NCBI-disease, BC5CDR, DDI and ChemProt, all
splits, split by the project's sentence splitter), then every distinct passage of two consecutive
sentences, then of three, until ``--pool`` + ``--queries`` distinct texts are collected; these are
shuffled (``--seed``) and the first ``--queries`` become the queries, the rest the pool, so no query
is in the pool. The vectors are cached in ``--cache`` (a ``.npy`` file with a ``.json`` description
beside it, reused when the description matches); the embedding pass is timed and reported.

Embedding throughput is measured separately on real sentences (the first ``--embed-sentences`` of
the NCBI-disease training set, split by the project's sentence splitter) with the bundled
all-MiniLM-L6-v2: one sentence per call against batches of each ``--embed-batch`` size (64 first;
sentence-transformers sorts a batch call by length), all on the same sentences.

    python benchmarks/retrieval_speed.py --pool 100000 --queries 10000 --k 30 --dim 384
    python benchmarks/retrieval_speed.py --pool 2000 --queries 200        # quick check
    python benchmarks/retrieval_speed.py --vectors real --cache /tmp/real_110k.npy --ivf-nlist 1024

Prints one JSON object (and writes it to ``--output`` when given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NCBI_TRAIN = "ncbi_disease/NCBItrainset_corpus.txt"


def random_unit_vectors(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def top_k_sorted(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k of each row of ``scores`` (2-D), best first: argpartition (no negated copy), then
    sort the k."""
    part = np.argpartition(scores, -k, axis=1)[:, -k:]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part_scores, order, axis=1), np.take_along_axis(part, order, axis=1)


def numpy_batched(pool: np.ndarray, queries: np.ndarray, k: int, block: int):
    ids = np.empty((len(queries), k), dtype=np.int64)
    scores = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), block):
        block_scores = queries[start : start + block] @ pool.T
        scores[start : start + block], ids[start : start + block] = top_k_sorted(block_scores, k)
    return scores, ids


def numpy_one_query(pool: np.ndarray, query: np.ndarray, k: int):
    scores = pool @ query
    part = np.argpartition(scores, -k)[-k:]
    order = np.argsort(-scores[part], kind="stable")
    return scores[part][order], part[order]


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def compare_ids(a_ids, a_scores, b_ids, b_scores, tolerance=1e-5) -> dict:
    """Identical id lists per query; differing queries explained by ties or not."""
    same_list = np.all(a_ids == b_ids, axis=1)
    same_set = np.array([set(x) == set(y) for x, y in zip(a_ids, b_ids, strict=True)])
    tie_only = 0
    for row in np.flatnonzero(~same_list):
        # same scores position by position: the lists differ only in the order of equal scores,
        # or at the k-th place between candidates with equal scores
        if np.allclose(a_scores[row], b_scores[row], atol=tolerance):
            tie_only += 1
    return {
        "queries": len(a_ids),
        "identical_id_lists": int(same_list.sum()),
        "identical_id_sets": int(same_set.sum()),
        "differing_only_by_ties": tie_only,
        "real_differences": int((~same_list).sum()) - tie_only,
        "max_abs_score_difference": float(np.abs(a_scores - b_scores).max()),
    }


def recall_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    k = exact_ids.shape[1]
    hits = [len(set(a) & set(e)) for a, e in zip(approx_ids, exact_ids, strict=True)]
    return float(np.sum(hits) / (k * len(exact_ids)))


def clustered_unit_vectors(
    count: int, centres: np.ndarray, spread: float, rng: np.random.Generator
) -> np.ndarray:
    """Unit vectors around random centres (a mixture on the sphere, like topics in embeddings)."""
    dim = centres.shape[1]
    noise = rng.standard_normal((count, dim), dtype=np.float32) * (spread / np.sqrt(dim))
    vectors = centres[rng.integers(len(centres), size=count)] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


#: Corpora of ``--data`` whose texts ``--vectors real`` embeds: (reader, path, source).
REAL_CORPORA = (
    ("pubtator", "ncbi_disease/NCBItrainset_corpus.txt", "ncbi_disease"),
    ("pubtator", "ncbi_disease/NCBIdevelopset_corpus.txt", "ncbi_disease"),
    ("pubtator", "ncbi_disease/NCBItestset_corpus.txt", "ncbi_disease"),
    ("pubtator", "bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr"),
    ("pubtator", "bc5cdr/CDR_DevelopmentSet.PubTator.txt", "bc5cdr"),
    ("pubtator", "bc5cdr/CDR_TestSet.PubTator.txt", "bc5cdr"),
    ("ddi", "ddi/DDICorpus/Train", "ddi"),
    ("ddi", "ddi/DDICorpus/Test", "ddi"),
    ("chemprot", "chemprot/chemprot_training", "chemprot"),
    ("chemprot", "chemprot/chemprot_development", "chemprot"),
    ("chemprot", "chemprot/chemprot_test_gs", "chemprot"),
)


def real_texts(data: Path, count: int, seed: int) -> tuple[list[str], dict]:
    """``count`` distinct real texts: sentences first, then 2- and 3-sentence passages; shuffled."""
    from bioie_kedro.corpora.chemprot import read_chemprot
    from bioie_kedro.corpora.ddi import read_ddi
    from bioie_kedro.corpora.pubtator import read_pubtator
    from bioie_kedro.segmentation import segment_document

    readers = {"pubtator": read_pubtator, "ddi": read_ddi, "chemprot": read_chemprot}
    documents = []
    for reader, relative, source in REAL_CORPORA:
        path = data / relative
        if not path.exists():
            raise FileNotFoundError(f"{path}: needed by --vectors real (see ../shared/data)")
        documents.extend(readers[reader](path, source=source, split="all").documents)
    by_width: dict[int, list[str]] = {1: [], 2: [], 3: []}
    seen: set[str] = set()
    for width in (1, 2, 3):
        for raw in documents:
            doc = segment_document(raw)
            sentences = [doc.text[s.start : s.end] for s in doc.sentences]
            for start in range(len(sentences) - width + 1):
                text = " ".join(sentences[start : start + width])
                if text.strip() and text not in seen:
                    seen.add(text)
                    by_width[width].append(text)
    texts: list[str] = []
    used = {}
    for width in (1, 2, 3):
        take = by_width[width][: max(0, count - len(texts))]
        texts.extend(take)
        used[f"{width}_sentence_texts"] = len(take)
    if len(texts) < count:
        raise ValueError(f"only {len(texts)} distinct texts in {data}, {count} asked for")
    order = np.random.default_rng(seed).permutation(len(texts))
    texts = [texts[i] for i in order]
    description = {
        "documents": len(documents),
        "corpora": sorted({source for _, _, source in REAL_CORPORA}),
        **used,
        "mean_words": round(float(np.mean([len(t.split()) for t in texts])), 1),
    }
    return texts, description


def real_vectors(args) -> tuple[np.ndarray, np.ndarray, str, dict]:
    """Embedded real texts (cached): queries first ``--queries`` of the shuffled texts, pool the rest."""
    from bioie_kedro.retrieval.embedders import SentenceTransformerEmbedder

    count = args.pool + args.queries
    texts, description = real_texts(Path(args.data), count, args.seed)
    key = {"count": count, "seed": args.seed, "model": "bundled all-MiniLM-L6-v2", **description}
    cache = Path(args.cache) if args.cache else None
    sidecar = cache.with_suffix(".json") if cache else None
    if (
        cache
        and cache.is_file()
        and sidecar.is_file()
        and json.loads(sidecar.read_text())["key"] == key
    ):
        vectors = np.load(cache)
        embedding = json.loads(sidecar.read_text())["embedding"] | {"cached": True}
    else:
        embedder = SentenceTransformerEmbedder(device="cpu")
        embedder.encode(texts[:8], batch_size=8)  # load and warm up outside the timing
        vectors, seconds = timed(embedder.encode, texts, batch_size=64)
        embedding = {
            "texts": count,
            "batch_size": 64,
            "seconds": round(seconds, 1),
            "texts_per_second": round(count / seconds, 1),
            "torch_threads": _torch_threads(),
        }
        if cache:
            partial = cache.with_suffix(".partial.npy")
            np.save(partial, vectors)
            partial.replace(cache)
            sidecar.write_text(json.dumps({"key": key, "embedding": embedding}, indent=2))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    kind = (
        f"real texts embedded with the bundled all-MiniLM-L6-v2 ({description}); "
        f"{args.queries} held-out queries, none in the pool"
    )
    return vectors[args.queries :], vectors[: args.queries], kind, embedding


def search_benchmark(args) -> dict:
    import faiss

    rng = np.random.default_rng(args.seed)
    real_embedding = None
    if args.vectors == "real":
        pool, queries, kind, real_embedding = real_vectors(args)
        args.dim = pool.shape[1]
    elif args.vectors == "clustered":
        centres = random_unit_vectors(args.clusters, args.dim, rng)
        pool = clustered_unit_vectors(args.pool, centres, args.spread, rng)
        queries = clustered_unit_vectors(args.queries, centres, args.spread, rng)
        kind = (
            f"clustered unit vectors ({args.clusters} random centres, spread {args.spread}, "
            "float32, seeded)"
        )
    else:
        pool = random_unit_vectors(args.pool, args.dim, rng)
        queries = random_unit_vectors(args.queries, args.dim, rng)
        kind = "random unit vectors (standard normal, normalised, float32, seeded)"
    k = args.k
    out: dict = {
        "vectors": kind,
        "pool": args.pool,
        "queries": args.queries,
        "k": k,
        "dim": args.dim,
        "seed": args.seed,
        "faiss_threads": faiss.omp_get_max_threads(),
    }
    if real_embedding is not None:
        out["embedding_pass"] = real_embedding

    flat = faiss.IndexFlatIP(args.dim)
    _, build_flat = timed(flat.add, pool)
    (exact_scores, exact_ids), t_flat = timed(flat.search, queries, k)
    (np_scores, np_ids), t_numpy = timed(numpy_batched, pool, queries, k, args.block)
    loop_count = min(args.loop_queries, args.queries)
    _, t_loop_subset = timed(lambda: [numpy_one_query(pool, q, k) for q in queries[:loop_count]])
    t_loop = t_loop_subset / loop_count * args.queries
    out["faiss_exact"] = {
        "index": "IndexFlatIP",
        "build_seconds": round(build_flat, 3),
        "search_seconds": round(t_flat, 3),
        "queries_per_second": round(args.queries / t_flat, 1),
    }
    out["numpy_batched"] = {
        "method": f"float32 matmul per block of {args.block} queries + argpartition + sort of k",
        "search_seconds": round(t_numpy, 3),
        "queries_per_second": round(args.queries / t_numpy, 1),
    }
    out["numpy_loop"] = {
        "method": "one query at a time: pool @ q + argpartition + sort of k",
        "measured_queries": loop_count,
        "measured_seconds": round(t_loop_subset, 3),
        "seconds_per_query": t_loop_subset / loop_count,
        "search_seconds_extrapolated": round(t_loop, 3),
        "extrapolated": loop_count < args.queries,
    }
    out["exact_vs_numpy_ids"] = compare_ids(exact_ids, exact_scores, np_ids, np_scores)
    out["faiss_exact"]["speedup_vs_numpy_batched"] = round(t_numpy / t_flat, 2)
    out["faiss_exact"]["speedup_vs_numpy_loop"] = round(t_loop / t_flat, 2)
    del np_scores, np_ids

    hnsw = faiss.IndexHNSWFlat(args.dim, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = args.ef_construction
    _, build_hnsw = timed(hnsw.add, pool)
    runs = []
    for ef in args.ef_search:
        hnsw.hnsw.efSearch = max(ef, k)
        (_, ids), seconds = timed(hnsw.search, queries, k)
        runs.append(
            {
                "ef_search": hnsw.hnsw.efSearch,
                "search_seconds": round(seconds, 3),
                "queries_per_second": round(args.queries / seconds, 1),
                f"recall_at_{k}": round(recall_at_k(ids, exact_ids), 4),
                "speedup_vs_numpy_batched": round(t_numpy / seconds, 2),
                "speedup_vs_numpy_loop": round(t_loop / seconds, 2),
                "speedup_vs_faiss_exact": round(t_flat / seconds, 2),
            }
        )
    out["faiss_hnsw"] = {
        "index": f"IndexHNSWFlat(M={args.hnsw_m}, efConstruction={args.ef_construction}, inner product)",
        "build_seconds": round(build_hnsw, 3),
        "runs": runs,
    }
    del hnsw

    if args.ivf_nlist:
        quantizer = faiss.IndexFlatIP(args.dim)
        ivf = faiss.IndexIVFFlat(quantizer, args.dim, args.ivf_nlist, faiss.METRIC_INNER_PRODUCT)
        started = time.perf_counter()
        ivf.train(pool)
        ivf.add(pool)
        build_ivf = time.perf_counter() - started
        ivf_runs = []
        for nprobe in args.ivf_nprobe:
            ivf.nprobe = nprobe
            (_, ids), seconds = timed(ivf.search, queries, k)
            ivf_runs.append(
                {
                    "nprobe": nprobe,
                    "search_seconds": round(seconds, 3),
                    f"recall_at_{k}": round(recall_at_k(ids, exact_ids), 4),
                    "speedup_vs_numpy_batched": round(t_numpy / seconds, 2),
                    "speedup_vs_numpy_loop": round(t_loop / seconds, 2),
                }
            )
        out["faiss_ivf"] = {
            "index": f"IndexIVFFlat(nlist={args.ivf_nlist}, inner product)",
            "build_seconds": round(build_ivf, 3),
            "runs": ivf_runs,
        }

    out["vector_index"] = project_index_runs(args, pool, queries, exact_ids, t_numpy, t_loop)
    out["targets"] = targets(out, k)
    return out


def project_index_runs(args, pool, queries, exact_ids, t_numpy: float, t_loop: float) -> list[dict]:
    """The project's own path: ``VectorIndex.build`` with its default settings per kind
    (``auto`` and ``ivf``), then ``VectorIndex.search`` — what the retrieval pipeline runs."""
    from bioie_kedro.retrieval.index import IndexSettings, VectorIndex

    ids = [str(i) for i in range(len(pool))]
    runs = []
    for kind in args.project_kinds:
        settings = IndexSettings(kind=kind)
        index, build = timed(VectorIndex.build, pool, ids, settings=settings)
        (_, positions), seconds = timed(index.search, queries, args.k)
        runs.append(
            {
                "settings": f"IndexSettings(kind={kind!r}) defaults",
                "resolved_kind": index.kind,
                "detail": str(index.index.__class__.__name__)
                + (
                    f", nlist {index.index.nlist}, nprobe {index.index.nprobe}"
                    if index.kind == "ivf"
                    else ""
                )
                + (f", efSearch {index.index.hnsw.efSearch}" if index.kind == "hnsw" else ""),
                "build_seconds": round(build, 3),
                "search_seconds": round(seconds, 3),
                f"recall_at_{args.k}": round(recall_at_k(positions, exact_ids), 4),
                "speedup_vs_numpy_batched": round(t_numpy / seconds, 2),
                "speedup_vs_numpy_loop": round(t_loop / seconds, 2),
            }
        )
        del index
    return runs


def targets(out: dict, k: int) -> dict:
    """Which index meets which acceptance target (search time; build times are listed above)."""
    exact = out["faiss_exact"]
    ids = out["exact_vs_numpy_ids"]
    result = {
        "faiss_exact": {
            "identical_to_numpy": ids["real_differences"] == 0,
            "at_least_5x_numpy_batched": exact["speedup_vs_numpy_batched"] >= 5,
            "at_least_50x_numpy_loop": exact["speedup_vs_numpy_loop"] >= 50,
        }
    }
    result["vector_index"] = {
        run["settings"]: run[f"recall_at_{k}"] >= 0.95
        and run["speedup_vs_numpy_batched"] >= 5
        and run["speedup_vs_numpy_loop"] >= 50
        for run in out.get("vector_index", [])
    }
    for name, key in (("faiss_hnsw", "ef_search"), ("faiss_ivf", "nprobe")):
        if name not in out:
            continue
        meeting = [
            run
            for run in out[name]["runs"]
            if run[f"recall_at_{k}"] >= 0.95
            and run["speedup_vs_numpy_batched"] >= 5
            and run["speedup_vs_numpy_loop"] >= 50
        ]
        result[name] = {
            "settings_with_recall_0.95_5x_batched_50x_loop": [run[key] for run in meeting],
            f"best_recall_at_{k}": max(run[f"recall_at_{k}"] for run in out[name]["runs"]),
        }
    return result


def embedding_benchmark(args) -> dict:
    from bioie_kedro.corpora.pubtator import read_pubtator
    from bioie_kedro.retrieval.embedders import SentenceTransformerEmbedder
    from bioie_kedro.segmentation import segment_document

    path = Path(args.data) / NCBI_TRAIN
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    sentences = []
    for raw in read_pubtator(path, source="ncbi_disease", split="train").documents:
        doc = segment_document(raw)
        sentences.extend(doc.text[s.start : s.end] for s in doc.sentences)
        if len(sentences) >= args.embed_sentences:
            break
    sentences = sentences[: args.embed_sentences]
    embedder = SentenceTransformerEmbedder(device="cpu")
    embedder.encode(sentences[:8], batch_size=8)  # load and warm up outside the timings
    single, t_single = timed(
        lambda: np.vstack([embedder.encode([s], batch_size=1) for s in sentences])
    )
    out = {
        "model": "bundled all-MiniLM-L6-v2 (sentence-transformers, CPU)",
        "sentences": f"NCBI-disease train, first {len(sentences)} sentences (all runs the same)",
        "mean_words_per_sentence": round(float(np.mean([len(s.split()) for s in sentences])), 1),
        "torch_threads": _torch_threads(),
        "one_at_a_time": {
            "seconds": round(t_single, 3),
            "sentences_per_second": round(len(sentences) / t_single, 1),
        },
        "batched": [],
    }
    for batch_size in args.embed_batch:
        batched, seconds = timed(embedder.encode, sentences, batch_size=batch_size)
        out["batched"].append(
            {
                "batch_size": batch_size,
                "seconds": round(seconds, 3),
                "sentences_per_second": round(len(sentences) / seconds, 1),
                "speedup_vs_one_at_a_time": round(t_single / seconds, 2),
                "max_abs_difference_vs_one_at_a_time": float(np.abs(batched - single).max()),
            }
        )
    return out


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--vectors",
        choices=["random", "clustered", "real"],
        default="random",
        help="random unit vectors (default), a mixture around --clusters centres, or real "
        "texts embedded with the bundled MiniLM",
    )
    parser.add_argument("--cache", help="--vectors real: .npy file that keeps the embeddings")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=1.0, help="noise norm around a centre")
    parser.add_argument("--block", type=int, default=512, help="numpy: queries per matmul")
    parser.add_argument("--loop-queries", type=int, default=500, help="numpy loop: timed subset")
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--ivf-nlist", type=int, default=0, help="also IVF with this many cells")
    parser.add_argument("--ivf-nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument(
        "--project-kinds",
        nargs="*",
        default=["auto", "ivf"],
        choices=["auto", "flat", "hnsw", "ivf"],
        help="also time bioie_kedro's VectorIndex with its default settings of these kinds",
    )
    parser.add_argument("--data", default=str(PROJECT_ROOT.parent / "shared" / "data"))
    parser.add_argument("--embed-sentences", type=int, default=1000)
    parser.add_argument("--embed-batch", type=int, nargs="+", default=[64, 16])
    parser.add_argument("--skip-embedding", action="store_true")
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()

    import faiss

    result = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "faiss": faiss.__version__,
        },
        "search": search_benchmark(args),
    }
    if not args.skip_embedding:
        result["embedding"] = embedding_benchmark(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
