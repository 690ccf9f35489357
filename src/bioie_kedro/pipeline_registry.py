"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from bioie_kedro.pipelines import dfpo, dictionary_baseline, evaluation, ingestion, retrieval

#: Registered but left out of ``__default__``: they need an annotator LLM (hours of a GPU, or a
#: server) and run on request, e.g. ``kedro run --pipelines=synthetic_labels``.
ON_REQUEST = frozenset({"synthetic_labels", "synthetic_labels_server"})


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        pipeline for name, pipeline in pipelines.items() if name not in ON_REQUEST
    )
    # The main job: DFPO end to end, from the raw corpora to its scores next to the dictionary
    # baseline (`kedro run --pipelines=dfpo`; `make run`).
    # Kedro loads only the requested pipelines, so the parts are built here, not looked up.
    pipelines["dfpo"] = (
        ingestion.create_pipeline()
        + retrieval.create_pipeline()
        + dictionary_baseline.create_pipeline()
        + dfpo.create_pipeline()
        + evaluation.create_pipeline(systems=("dictionary", "dfpo"))
    )
    return pipelines
