"""``synthetic_labels``: LLM-annotated relations distilled into an encoder classifier (METHODS.md D)."""

from bioie_kedro.pipelines.synthetic_labels.pipeline import create_pipeline

__all__ = ["create_pipeline"]
