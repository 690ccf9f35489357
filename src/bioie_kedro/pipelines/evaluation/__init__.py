"""``evaluation``: every system scored by one evaluator, reports, plots and a comparison table."""

from bioie_kedro.pipelines.evaluation.pipeline import SYSTEMS, create_pipeline

__all__ = ["SYSTEMS", "create_pipeline"]
