"""Kedro datasets of bioie-kedro: raw corpus collections, Parquet document tables, models.

``TokenClassifierDataset`` is imported lazily (it pulls in the token-classification module).
"""

from bioie_kedro.datasets.corpora import CorpusCollectionDataset
from bioie_kedro.datasets.documents import DocumentsDataset

__all__ = ["CorpusCollectionDataset", "DocumentsDataset", "TokenClassifierDataset"]


def __getattr__(name: str):
    if name == "TokenClassifierDataset":
        from bioie_kedro.datasets.models import TokenClassifierDataset

        return TokenClassifierDataset
    raise AttributeError(name)
