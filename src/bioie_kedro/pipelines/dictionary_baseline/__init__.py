"""``dictionary_baseline``: a tagger built from the training mentions, the floor every model must beat."""

from bioie_kedro.pipelines.dictionary_baseline.pipeline import create_pipeline

__all__ = ["create_pipeline"]
