"""Kedro datasets of bioie-kedro: raw corpus collections, Parquet document tables, models, indices.

``TokenClassifierDataset``, ``CausalLMDataset``, ``FaissIndexDataset``, ``RelationClassifierDataset``,
``DatasetDictDataset`` and ``ApiKeyDataset`` are imported lazily (they pull in the model, retrieval,
Hugging Face ``datasets`` and annotation modules).
"""

from bioie_kedro.datasets.corpora import CorpusCollectionDataset
from bioie_kedro.datasets.documents import DocumentsDataset

__all__ = [
    "ApiKeyDataset",
    "CausalLMDataset",
    "CorpusCollectionDataset",
    "DatasetDictDataset",
    "DocumentsDataset",
    "FaissIndexDataset",
    "RelationClassifierDataset",
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
    if name == "RelationClassifierDataset":
        from bioie_kedro.datasets.relation_models import RelationClassifierDataset

        return RelationClassifierDataset
    if name == "DatasetDictDataset":
        from bioie_kedro.datasets.hf_datasets import DatasetDictDataset

        return DatasetDictDataset
    if name == "ApiKeyDataset":
        from bioie_kedro.datasets.secrets import ApiKeyDataset

        return ApiKeyDataset
    raise AttributeError(name)
