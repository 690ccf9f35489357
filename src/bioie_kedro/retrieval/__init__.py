"""Retrieval shared by the pipelines: embedders, a FAISS index, RAG-ICL selection, RA-IT neighbours.

``../shared/METHODS.md`` A (RAG-ICL example selection) and B (RA-IT neighbours). The modules:

* :mod:`~bioie_kedro.retrieval.units` — documents or sentences as retrievable units with gold labels;
* :mod:`~bioie_kedro.retrieval.embedders` — one :class:`Embedder` interface (sentence-transformers,
  transformers with mean/CLS pooling, FlagEmbedding, a model-free hashing embedder);
* :mod:`~bioie_kedro.retrieval.bm25` — BM25 scores (``bm25s``);
* :mod:`~bioie_kedro.retrieval.index` — :class:`VectorIndex` (FAISS, exact or approximate, id map);
* :mod:`~bioie_kedro.retrieval.selection` — first stage, threshold, reranker, top n;
* :mod:`~bioie_kedro.retrieval.neighbours` — the RA-IT strategies;
* :mod:`~bioie_kedro.retrieval.quality` — label overlap@k against random, leak check.

Importing this package imports numpy only; faiss, bm25s, torch and sentence-transformers are
imported by the functions that use them.
"""

from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.embedders import (
    Embedder,
    FlagEmbedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    TransformersEmbedder,
    build_embedder,
)
from bioie_kedro.retrieval.index import IndexSettings, VectorIndex
from bioie_kedro.retrieval.neighbours import RAIT_STRATEGIES, NeighbourSettings, rait_neighbours
from bioie_kedro.retrieval.quality import (
    label_overlap,
    leak_check,
    overlap_against_random,
    random_retrieval,
)
from bioie_kedro.retrieval.selection import (
    Bm25Fusion,
    CrossEncoderReranker,
    FlagCrossEncoderReranker,
    Reranker,
    SelectionSettings,
    select_examples,
)
from bioie_kedro.retrieval.units import RetrievalUnit, retrieval_units

__all__ = [
    "RAIT_STRATEGIES",
    "BM25Scorer",
    "Bm25Fusion",
    "CrossEncoderReranker",
    "Embedder",
    "FlagCrossEncoderReranker",
    "FlagEmbedder",
    "HashingEmbedder",
    "IndexSettings",
    "NeighbourSettings",
    "Reranker",
    "RetrievalUnit",
    "SelectionSettings",
    "SentenceTransformerEmbedder",
    "TransformersEmbedder",
    "VectorIndex",
    "build_embedder",
    "label_overlap",
    "leak_check",
    "overlap_against_random",
    "rait_neighbours",
    "random_retrieval",
    "retrieval_units",
    "select_examples",
]
