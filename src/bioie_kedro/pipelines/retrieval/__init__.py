"""``retrieval``: a FAISS index of the training pool, RAG-ICL examples, RA-IT neighbours, quality."""

from bioie_kedro.pipelines.retrieval.pipeline import create_pipeline

__all__ = ["create_pipeline"]
