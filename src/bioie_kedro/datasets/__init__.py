"""Kedro datasets of bioie-kedro: raw corpus collections, Parquet document tables, models, indices.

``TokenClassifierDataset``, ``CausalLMDataset`` and ``FaissIndexDataset`` are imported lazily (they pull in the
token-classification and retrieval modules).
"""

from bioie_kedro.datasets.corpora import CorpusCollectionDataset
from bioie_kedro.datasets.documents import DocumentsDataset

__all__ = [
    "CausalLMDataset",
    "CorpusCollectionDataset",
    "DocumentsDataset",
    "FaissIndexDataset",
    "TokenClassifierDataset",
]


def __getattr__(name: str):
    if name == "TokenClassifierDataset":
        from bioie_kedro.datasets.models import TokenClassifierDataset

        return TokenClassifierDataset
    if name == "CausalLMDataset":
        from bioie_kedro.datasets.models import CausalLMDataset

        return CausalLMDataset
    if name == "FaissIndexDataset":
        from bioie_kedro.datasets.faiss_index import FaissIndexDataset

        return FaissIndexDataset
    raise AttributeError(name)
