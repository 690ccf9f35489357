"""``dfpo``: Dual-phase Fine-tuning and Preference Optimisation (METHODS.md A)."""

from bioie_kedro.pipelines.dfpo.pipeline import create_pipeline

__all__ = ["create_pipeline"]
