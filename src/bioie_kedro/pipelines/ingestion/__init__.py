"""``ingestion``: real corpora into one offset-preserving document schema, with a report."""

from bioie_kedro.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
