"""Nodes of the retrieval pipeline: index the training pool, select RAG-ICL examples, find RA-IT
neighbours, report retrieval quality."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bioie_kedro.datasets.partitions import Partitions, load_partition, partition_key
from bioie_kedro.pipelines.retrieval.params import RerankerParams, RetrievalParams
from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.embedders import build_embedder
from bioie_kedro.retrieval.index import VectorIndex
from bioie_kedro.retrieval.neighbours import (
    excluded_positions,
    rait_neighbours,
    summarise_neighbours,
)
from bioie_kedro.retrieval.quality import label_overlap, leak_check, random_retrieval, with_lift
from bioie_kedro.retrieval.selection import (
    Bm25Fusion,
    CrossEncoderReranker,
    FlagCrossEncoderReranker,
    Reranker,
    select_examples,
)
from bioie_kedro.retrieval.units import RetrievalUnit, retrieval_units

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def _units(
    documents: Partitions, settings: RetrievalParams, split: str, *, labelled: bool = False
) -> list[RetrievalUnit]:
    docs = load_partition(documents, partition_key(settings.corpus, split))
    type_map = settings.quality.type_map if labelled else None
    return retrieval_units(docs, settings.granularity, type_map=type_map)


def _pool(
    index: VectorIndex, documents: Partitions, settings: RetrievalParams, *, labelled: bool = False
) -> list[RetrievalUnit]:
    """The training units in index order; fails when the index was built from something else."""
    built_from = {k: index.metadata.get(k) for k in ("corpus", "split", "granularity")}
    wanted = {
        "corpus": settings.corpus,
        "split": settings.train_split,
        "granularity": settings.granularity,
    }
    if built_from != wanted:
        raise ValueError(
            f"retrieval_index was built from {built_from}, the parameters ask for {wanted}; "
            "run build_retrieval_index again"
        )
    pool = _units(documents, settings, settings.train_split, labelled=labelled)
    if [u.id for u in pool] != index.ids:
        raise ValueError(
            f"retrieval_index does not match {settings.corpus}/{settings.train_split}: "
            f"{len(index)} indexed units, {len(pool)} in the documents; run build_retrieval_index again"
        )
    return pool


def build_retrieval_index(documents: Partitions, params: dict[str, Any]) -> VectorIndex:
    """Embed every unit of ``<corpus>/<train_split>`` and index the vectors (FAISS)."""
    settings = RetrievalParams.parse(params)
    pool = _units(documents, settings, settings.train_split)
    if not pool:
        raise ValueError(f"{settings.corpus}/{settings.train_split} has no text to index")
    embedder_settings = settings.embedder.settings()
    embedder = build_embedder(embedder_settings)
    started = time.perf_counter()
    vectors = embedder.encode([u.text for u in pool], batch_size=settings.embedder.batch_size)
    seconds = time.perf_counter() - started
    index = VectorIndex.build(
        vectors,
        [u.id for u in pool],
        settings=settings.index.settings(),
        embedder_settings=embedder_settings,
        metadata={
            "corpus": settings.corpus,
            "split": settings.train_split,
            "granularity": settings.granularity,
            "embedding_seconds": round(seconds, 3),
            "units_per_second": round(len(pool) / seconds, 1) if seconds > 0 else None,
        },
    )
    logger.info(
        "Indexed %d %s units of %s/%s (%s, %d dimensions, %.1f s to embed)",
        len(index),
        settings.granularity,
        settings.corpus,
        settings.train_split,
        index.kind,
        index.dimension,
        seconds,
    )
    return index


def _reranker(params: RerankerParams | None, bm25: BM25Scorer | None) -> Reranker | None:
    if params is None:
        return None
    if params.kind == "bm25_fusion":
        return Bm25Fusion(bm25, rrf_k=params.rrf_k)
    if params.kind == "flag":
        return FlagCrossEncoderReranker(
            params.model_name_or_path,
            max_length=params.max_length,
            batch_size=params.batch_size,
            use_fp16=params.use_fp16,
        )
    return CrossEncoderReranker(
        params.model_name_or_path,
        max_length=params.max_length,
        batch_size=params.batch_size,
        device=params.device,
        trust_remote_code=params.trust_remote_code,
    )


def _bm25(settings: RetrievalParams, texts: list[str]) -> BM25Scorer:
    return BM25Scorer(texts, **settings.bm25.model_dump())


def _query_vectors(
    index: VectorIndex, units: list[RetrievalUnit], settings: RetrievalParams, own_pool: bool
) -> np.ndarray:
    if own_pool:  # the pool's own vectors: no second embedding pass
        return index.vectors()
    return index.embedder().encode([u.text for u in units], batch_size=settings.embedder.batch_size)


def select_icl_examples(
    retrieval_index: VectorIndex, documents: Partitions, params: dict[str, Any]
) -> dict[str, Any]:
    """RAG-ICL: per unit of ``<corpus>/<selection.query_split>``, ranked training ids with the
    score of every stage (first stage, threshold, optional reranker, top n)."""
    settings = RetrievalParams.parse(params)
    selection = settings.selection
    pool = _pool(retrieval_index, documents, settings)
    pool_texts = [u.text for u in pool]
    own_pool = selection.query_split == settings.train_split
    queries = pool if own_pool else _units(documents, settings, selection.query_split)
    needs_bm25 = selection.reranker is not None and selection.reranker.kind == "bm25_fusion"
    reranker = _reranker(selection.reranker, _bm25(settings, pool_texts) if needs_bm25 else None)
    exclude: list[set[int]] = [set() for _ in queries]
    if selection.exclude_duplicate_text:
        exclude = excluded_positions([q.text for q in queries], pool_texts)
    if own_pool:  # a training unit never selects itself
        for position, banned in enumerate(exclude):
            banned.add(position)
    started = time.perf_counter()
    selections = select_examples(
        retrieval_index,
        _query_vectors(retrieval_index, queries, settings, own_pool),
        [q.id for q in queries],
        [q.text for q in queries],
        pool_texts,
        selection.settings(),
        reranker=reranker,
        exclude=exclude,
    )
    seconds = time.perf_counter() - started
    kept = [len(s.examples) for s in selections]
    summary = {
        "queries": len(selections),
        "without_examples": sum(c == 0 for c in kept),
        "fewer_than_n": sum(c < selection.n for c in kept),
        "mean_examples": round(float(np.mean(kept)), 4) if kept else 0.0,
        "seconds": round(seconds, 3),
    }
    logger.info(
        "Selected ICL examples for %s/%s: %s", settings.corpus, selection.query_split, summary
    )
    return {
        "corpus": settings.corpus,
        "train_split": settings.train_split,
        "query_split": selection.query_split,
        "granularity": settings.granularity,
        "embedder": retrieval_index.embedder_settings,
        "index": {"kind": retrieval_index.kind, "size": len(retrieval_index)},
        "selection": selection.model_dump(),
        "summary": summary,
        "queries": {s.query_id: s.to_dict() for s in selections},
    }


def build_rait_neighbours(
    retrieval_index: VectorIndex, documents: Partitions, params: dict[str, Any]
) -> dict[str, Any]:
    """RA-IT: ``k`` training units per unit of each ``neighbours.splits`` split, per strategy,
    never the unit itself nor an exact duplicate of its text."""
    settings = RetrievalParams.parse(params)
    config = settings.neighbours
    neighbour_settings = config.settings(settings.seed)
    pool = _pool(retrieval_index, documents, settings)
    pool_texts = [u.text for u in pool]
    needs_bm25 = {"nearest_bm25_reject", "bm25_rerank"} & set(config.strategies)
    bm25 = _bm25(settings, pool_texts) if needs_bm25 else None
    neighbours: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    thresholds: dict[str, float] = {}
    for split in config.splits:
        own_pool = split == settings.train_split
        queries = pool if own_pool else _units(documents, settings, split)
        found = rait_neighbours(
            retrieval_index,
            [q.id for q in queries],
            [q.text for q in queries],
            _query_vectors(retrieval_index, queries, settings, own_pool),
            pool_texts,
            config.strategies,
            neighbour_settings,
            bm25=bm25,
            query_positions=list(range(len(pool))) if own_pool else [None] * len(queries),
            report=(applied := {}),
        )
        thresholds[split] = applied.get("bm25_threshold", config.bm25_threshold)
        neighbours[split] = found
        summary[split] = summarise_neighbours(found, config.k)
        logger.info("RA-IT neighbours of %s/%s: %s", settings.corpus, split, summary[split])
    return {
        "corpus": settings.corpus,
        "train_split": settings.train_split,
        "granularity": settings.granularity,
        "k": config.k,
        "top": neighbour_settings.top,
        "bm25_threshold": config.bm25_threshold,
        "bm25_quantile": config.bm25_quantile,
        "bm25_threshold_applied": thresholds,
        "bm25": settings.bm25.model_dump(),
        "seed": settings.seed,
        "strategies": list(config.strategies),
        "summary": summary,
        "neighbours": neighbours,
    }


def _duplicates(
    queries: list[RetrievalUnit], pool: list[RetrievalUnit], own_pool: bool
) -> dict[str, set[str]]:
    by_text: dict[str, set[str]] = {}
    for unit in pool:
        by_text.setdefault(unit.text, set()).add(unit.id)
    return {q.id: by_text.get(q.text, set()) | ({q.id} if own_pool else set()) for q in queries}


def report_retrieval_quality(
    best_examples: Mapping[str, Any],
    rait_neighbours: Mapping[str, Any],
    documents: Partitions,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Label overlap@k of the ICL examples and of every RA-IT strategy against random retrieval
    (seeded), and the leak check of the query split."""
    settings = RetrievalParams.parse(params)
    pool = _units(documents, settings, settings.train_split, labelled=True)
    by_id = {u.id: u for u in pool}
    pool_ids = [u.id for u in pool]
    report: dict[str, Any] = {
        "corpus": settings.corpus,
        "train_split": settings.train_split,
        "granularity": settings.granularity,
        "embedder": best_examples.get("embedder"),
        "type_map": settings.quality.type_map,
        "seed": settings.seed,
    }

    query_split = best_examples["query_split"]
    own_pool = query_split == settings.train_split
    queries = pool if own_pool else _units(documents, settings, query_split, labelled=True)
    report["leak_check"] = {"query_split": query_split, **leak_check(queries, pool)}
    k = settings.quality.k
    selected = {
        qid: [e["id"] for e in entry["examples"]] for qid, entry in best_examples["queries"].items()
    }
    baseline = random_retrieval(
        [q.id for q in queries],
        pool_ids,
        k,
        seed=settings.seed,
        exclude={q.id: {q.id} for q in queries} if own_pool else None,
    )
    report["icl_selection"] = {
        "query_split": query_split,
        "selection": best_examples.get("selection"),
        **with_lift(
            label_overlap(queries, by_id, selected, k), label_overlap(queries, by_id, baseline, k)
        ),
    }

    rait: dict[str, Any] = {}
    k_rait = rait_neighbours["k"]
    for split, by_strategy in rait_neighbours["neighbours"].items():
        own = split == settings.train_split
        split_queries = pool if own else _units(documents, settings, split, labelled=True)
        random_ids = random_retrieval(
            [q.id for q in split_queries],
            pool_ids,
            k_rait,
            seed=settings.seed,
            exclude=_duplicates(split_queries, pool, own),
        )
        random_overlap = label_overlap(split_queries, by_id, random_ids, k_rait)
        rait[split] = {
            strategy: {
                **with_lift(
                    label_overlap(
                        split_queries,
                        by_id,
                        {q: [e["id"] for e in found] for q, found in chosen.items()},
                        k_rait,
                    ),
                    random_overlap,
                ),
                "summary": rait_neighbours["summary"][split][strategy],
            }
            for strategy, chosen in by_strategy.items()
        }
    report["rait"] = rait
    logger.info(
        "Retrieval quality of %s: ICL type overlap@%d %s (random %s); %d of %d queries leak",
        settings.corpus,
        k,
        report["icl_selection"]["retrieved"]["type_overlap"],
        report["icl_selection"]["random"]["type_overlap"],
        report["leak_check"]["queries_in_training_pool"],
        report["leak_check"]["queries"],
    )
    return report


def plot_retrieval_scores(best_examples: dict[str, Any], rait_neighbours: dict[str, Any]) -> Figure:
    """Histograms of the similarity scores retrieval returned: the RAG-ICL examples' first-stage
    (dense) scores, and the cosine similarity of each RA-IT strategy's neighbours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    icl = [
        example["scores"]["dense"]
        for selection in best_examples.get("queries", {}).values()
        for example in selection["examples"]
        if "dense" in example["scores"]
    ]
    by_strategy: dict[str, list[float]] = {}
    for per_strategy in rait_neighbours.get("neighbours", {}).values():
        for strategy, by_query in per_strategy.items():
            by_strategy.setdefault(strategy, []).extend(
                record["dense"] for records in by_query.values() for record in records
            )
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].hist(icl, bins=30, color="#3b6ea8")
    axes[0].set_title(f"RAG-ICL examples: first-stage cosine ({len(icl)} examples)")
    for strategy, scores in sorted(by_strategy.items()):
        axes[1].hist(
            scores, bins=30, histtype="step", linewidth=1.5, label=f"{strategy} ({len(scores)})"
        )
    axes[1].set_title("RA-IT neighbours: cosine to the sample")
    if by_strategy:
        axes[1].legend(fontsize=8)
    for axis in axes:
        axis.set_xlabel("cosine similarity")
        axis.set_ylabel("count")
    figure.suptitle(
        f"{best_examples.get('corpus', '?')}: retrieval score distributions "
        f"({best_examples.get('granularity', '?')} units)"
    )
    figure.tight_layout()
    return figure
