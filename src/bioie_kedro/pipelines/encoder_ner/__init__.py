"""``encoder_ner``: token-classification NER with a Hugging Face encoder (METHODS.md C)."""

from bioie_kedro.pipelines.encoder_ner.pipeline import create_pipeline

__all__ = ["create_pipeline"]
