"""How useful retrieved examples are, measured on gold labels, and whether test text leaks.

* **Label overlap@k** (:func:`label_overlap`): for each query with at least one gold entity and at
  least one retrieved example, the share of its first ``k`` examples that have a gold entity of a
  type the query has (``type_overlap``), and that contain a gold mention string the query contains,
  compared case-insensitively (``mention_overlap``); averaged over queries. Queries without gold
  entities cannot share anything and are counted apart, as are queries left without examples.
* **Random retrieval** (:func:`random_retrieval`) is the reference: the same measure on ``k``
  uniformly drawn (seeded) pool units.
* **Leak check** (:func:`leak_check`): test queries whose exact text is also a training unit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from bioie_kedro.retrieval.units import RetrievalUnit


def label_overlap(
    queries: Sequence[RetrievalUnit],
    pool: Mapping[str, RetrievalUnit],
    retrieved: Mapping[str, Sequence[str]],
    k: int,
) -> dict[str, Any]:
    """Label overlap@k of ``retrieved`` (query id → ranked pool ids) for ``queries``."""
    type_shares: list[float] = []
    mention_shares: list[float] = []
    without_entities = without_examples = examples = 0
    for query in queries:
        if not query.entity_types:
            without_entities += 1
            continue
        ids = list(retrieved.get(query.id, ()))[:k]
        if not ids:
            without_examples += 1
            continue
        found = [pool[i] for i in ids]
        examples += len(found)
        type_shares.append(
            sum(bool(query.entity_types & unit.entity_types) for unit in found) / len(found)
        )
        mention_shares.append(
            sum(bool(query.mentions & unit.mentions) for unit in found) / len(found)
        )
    return {
        "k": k,
        "queries": len(type_shares),
        "queries_without_entities": without_entities,
        "queries_without_examples": without_examples,
        "examples": examples,
        "type_overlap": _mean(type_shares),
        "mention_overlap": _mean(mention_shares),
    }


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 6) if values else None


def random_retrieval(
    query_ids: Sequence[str],
    pool_ids: Sequence[str],
    k: int,
    *,
    seed: int,
    exclude: Mapping[str, Collection[str]] | None = None,
) -> dict[str, list[str]]:
    """``k`` pool ids per query, uniformly at random without replacement (seeded), never one of
    ``exclude[query_id]``."""
    rng = np.random.default_rng(seed)
    exclude = exclude or {}
    out = {}
    for query_id in query_ids:
        banned = exclude.get(query_id, ())
        draw = rng.choice(len(pool_ids), size=min(len(pool_ids), k + len(banned)), replace=False)
        out[query_id] = [pool_ids[i] for i in draw if pool_ids[i] not in banned][:k]
    return out


def overlap_against_random(
    queries: Sequence[RetrievalUnit],
    pool: Sequence[RetrievalUnit],
    retrieved: Mapping[str, Sequence[str]],
    k: int,
    *,
    seed: int,
    exclude: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """``{"retrieved": label_overlap(...), "random": label_overlap of random retrieval,
    "lift": retrieved / random for both shares}``."""
    by_id = {unit.id: unit for unit in pool}
    mine = label_overlap(queries, by_id, retrieved, k)
    baseline = label_overlap(
        queries,
        by_id,
        random_retrieval([q.id for q in queries], list(by_id), k, seed=seed, exclude=exclude),
        k,
    )
    return with_lift(mine, baseline)


def with_lift(retrieved: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Two :func:`label_overlap` results side by side, with ``retrieved / random`` per share."""
    lift = {}
    for key in ("type_overlap", "mention_overlap"):
        a, b = retrieved[key], baseline[key]
        lift[key] = round(a / b, 4) if a is not None and b else None
    return {"retrieved": retrieved, "random": baseline, "lift": lift}


def leak_check(
    queries: Sequence[RetrievalUnit], pool: Sequence[RetrievalUnit], *, max_examples: int = 20
) -> dict[str, Any]:
    """Test queries whose exact text is also in the training pool."""
    pool_by_text: dict[str, list[str]] = {}
    for unit in pool:
        pool_by_text.setdefault(unit.text, []).append(unit.id)
    leaked = [(q.id, pool_by_text[q.text]) for q in queries if q.text in pool_by_text]
    return {
        "queries": len(queries),
        "queries_in_training_pool": len(leaked),
        "examples": [
            {"query_id": query_id, "training_ids": ids[:5]}
            for query_id, ids in leaked[:max_examples]
        ],
    }
