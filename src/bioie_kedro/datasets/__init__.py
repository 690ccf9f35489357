"""Kedro datasets of bioie-kedro: raw corpus collections and Parquet document tables."""

from bioie_kedro.datasets.corpora import CorpusCollectionDataset
from bioie_kedro.datasets.documents import DocumentsDataset

__all__ = ["CorpusCollectionDataset", "DocumentsDataset"]
