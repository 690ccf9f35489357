"""Label overlap@k of nearest-neighbour retrieval against random retrieval, on real corpora.

For each corpus (NCBI-disease, BC5CDR from ``--data``, laid out like ``../shared/data``): the
training units (sentences by default, ``--granularity document`` for abstracts) are embedded with
the bundled all-MiniLM-L6-v2 and indexed exactly (FAISS ``IndexFlatIP``); every test unit retrieves
its ``--k`` (10) nearest training units. Reported per corpus, side by side:

* ``nearest`` — dense top k;
* ``mmr`` — maximal marginal relevance over the top ``4k`` (lambda 0.5);
* ``bm25`` — BM25 top k (``bm25s``, no embedding);
* ``random`` — k uniformly drawn training units (seeded);

each as label overlap@k (``bioie_kedro.retrieval.quality``: the share of retrieved units with a
gold entity type of the query, and with a gold mention string of the query, case-insensitive,
over test units with at least one entity), plus the RA-IT strategies on the training pool (k=2,
``--rait``), and the leak check (test units whose exact text is a training unit). NCBI-disease's
four mention types are merged into ``Disease`` (as it is scored), so its type overlap is the share
of retrieved units that mention any disease at all; the mention overlap is the sharper number.

    python benchmarks/retrieval_quality.py                       # both corpora, sentences, MiniLM
    python benchmarks/retrieval_quality.py --limit-train 300 --limit-test 50 --embedder hashing
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.embedders import HashingEmbedder, SentenceTransformerEmbedder
from bioie_kedro.retrieval.index import IndexSettings, VectorIndex
from bioie_kedro.retrieval.neighbours import RAIT_STRATEGIES, NeighbourSettings, rait_neighbours
from bioie_kedro.retrieval.quality import label_overlap, leak_check, random_retrieval, with_lift
from bioie_kedro.retrieval.selection import SelectionSettings, select_examples
from bioie_kedro.retrieval.units import retrieval_units
from bioie_kedro.segmentation import segment_document

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NCBI_TYPES = {"SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention"}
CORPORA = {
    "ncbi_disease": {
        "train": "ncbi_disease/NCBItrainset_corpus.txt",
        "test": "ncbi_disease/NCBItestset_corpus.txt",
        "type_map": dict.fromkeys(NCBI_TYPES, "Disease"),
    },
    "bc5cdr": {
        "train": "bc5cdr/CDR_TrainingSet.PubTator.txt",
        "test": "bc5cdr/CDR_TestSet.PubTator.txt",
        "type_map": {},
    },
}


def load_units(data: Path, corpus: str, split: str, granularity: str, limit: int | None):
    spec = CORPORA[corpus]
    docs = read_pubtator(data / spec[split], source=corpus, split=split).documents
    docs = [segment_document(doc) for doc in docs]
    units = retrieval_units(docs, granularity, type_map=spec["type_map"])
    return units[:limit] if limit else units


def evaluate_corpus(args, corpus: str, embedder) -> dict:
    data = Path(args.data)
    pool = load_units(data, corpus, "train", args.granularity, args.limit_train)
    queries = load_units(data, corpus, "test", args.granularity, args.limit_test)
    pool_texts = [u.text for u in pool]
    by_id = {u.id: u for u in pool}
    k = args.k

    started = time.perf_counter()
    pool_vectors = embedder.encode(pool_texts, batch_size=args.batch_size)
    query_vectors = embedder.encode([q.text for q in queries], batch_size=args.batch_size)
    embed_seconds = time.perf_counter() - started
    index = VectorIndex.build(pool_vectors, [u.id for u in pool], settings=IndexSettings("flat"))
    query_ids = [q.id for q in queries]
    query_texts = [q.text for q in queries]

    retrieved = {}
    for name, settings in (
        ("nearest", SelectionSettings(k=k, n=k)),
        ("mmr", SelectionSettings(k=k, n=k, search_type="mmr", mmr_lambda=0.5)),
    ):
        selections = select_examples(
            index, query_vectors, query_ids, query_texts, pool_texts, settings
        )
        retrieved[name] = {s.query_id: [e.id for e in s.examples] for s in selections}
    bm25 = BM25Scorer(pool_texts)
    retrieved["bm25"] = {
        q.id: [index.ids[p] for p in np.argsort(-bm25.scores(q.text), kind="stable")[:k]]
        for q in queries
    }
    retrieved["random"] = random_retrieval(query_ids, index.ids, k, seed=args.seed)
    overlap = {name: label_overlap(queries, by_id, ids, k) for name, ids in retrieved.items()}
    result = {
        "granularity": args.granularity,
        "training_units": len(pool),
        "test_units": len(queries),
        "embedding_seconds": round(embed_seconds, 2),
        "units_per_second": round((len(pool) + len(queries)) / embed_seconds, 1),
        f"label_overlap_at_{k}": overlap,
        "nearest_vs_random": with_lift(overlap["nearest"], overlap["random"])["lift"],
        "leak_check": leak_check(queries, pool, max_examples=5),
    }
    if args.rait:
        rait_report: dict = {}
        found = rait_neighbours(
            index,
            index.ids,
            pool_texts,
            index.vectors(),
            pool_texts,
            RAIT_STRATEGIES,
            NeighbourSettings(
                k=2,
                top=128,
                bm25_threshold=args.bm25_threshold,
                bm25_quantile=args.bm25_quantile,
                seed=args.seed,
            ),
            bm25=bm25,
            query_positions=list(range(len(pool))),
            report=rait_report,
        )
        result["rait_bm25_threshold_applied"] = rait_report.get(
            "bm25_threshold", args.bm25_threshold
        )
        result["rait_label_overlap_at_2"] = {
            strategy: {
                **label_overlap(
                    pool, by_id, {q: [n["id"] for n in v] for q, v in chosen.items()}, 2
                ),
                "samples_without_examples": sum(not v for v in chosen.values()),
            }
            for strategy, chosen in found.items()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(PROJECT_ROOT.parent / "shared" / "data"))
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--granularity", choices=["sentence", "document"], default="sentence")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit-train", type=int, default=None, help="first N training units")
    parser.add_argument("--limit-test", type=int, default=None, help="first N test units")
    parser.add_argument("--rait", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--bm25-threshold", type=float, default=20.0)
    parser.add_argument(
        "--bm25-quantile",
        type=float,
        default=None,
        help="calibrate the BM25 rejection threshold: this quantile of the BM25 scores of every "
        "sample's k nearest neighbours (replaces --bm25-threshold)",
    )
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()

    embedder = (
        HashingEmbedder(dimension=512)
        if args.embedder == "hashing"
        else SentenceTransformerEmbedder(device="cpu")
    )
    result = {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "embedder": embedder.settings(),
        "corpora": {corpus: evaluate_corpus(args, corpus, embedder) for corpus in args.corpora},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
