"""``training_curves``: learning curves of the trained models as versioned figures."""

from bioie_kedro.pipelines.training_curves.pipeline import create_pipeline

__all__ = ["create_pipeline"]
