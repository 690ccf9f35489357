"""Wiring of the evaluation pipeline: one template per system under ``evaluation.<system>``."""

import warnings
from collections.abc import Sequence
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.evaluation.nodes import (
    build_comparison,
    evaluate_system,
    plot_f1_per_length,
    plot_f1_per_type,
    render_metrics_table,
    review_system_pair,
)

#: Systems compared. Each provides ``<system>_predictions`` (documents per ``<corpus>/<split>``)
#: and has an entry under ``evaluation.systems`` in the parameters. Later pipelines add theirs.
SYSTEMS: tuple[str, ...] = ("dictionary", "encoder_ner", "decoder_sft", "dfpo")

#: Pairs of systems whose predictions go through the dual-model consistency review (DMCR,
#: METHODS.md A), e.g. ("rag_icl", "dfpo") once both exist.
REVIEW_PAIRS: tuple[tuple[str, str], ...] = ()


def _template() -> Pipeline:
    return Pipeline(
        [
            Node(
                evaluate_system,
                inputs=["predictions", "documents", "params:evaluation", "params:system"],
                outputs="metrics",
                name="evaluate_system",
            ),
            Node(
                render_metrics_table,
                inputs="metrics",
                outputs="metrics_table",
                name="render_metrics_table",
            ),
            Node(
                plot_f1_per_type,
                inputs="metrics",
                outputs="f1_per_type_plot",
                name="plot_f1_per_type",
            ),
            Node(
                plot_f1_per_length,
                inputs="metrics",
                outputs="f1_per_length_plot",
                name="plot_f1_per_length",
            ),
        ],
        tags=["evaluation"],
    )


def create_review_pipeline(system_a: str, system_b: str) -> Pipeline:
    """DMCR of two systems under the namespace ``review.<a>_vs_<b>``: summary, queue, HTML pages."""
    return Pipeline(
        [
            Node(
                update_wrapper(
                    partial(review_system_pair, names=(system_a, system_b)), review_system_pair
                ),
                inputs=["predictions_a", "predictions_b"],
                outputs=["summary", "queue", "pages", "accepted"],
                name="review_system_pair",
            )
        ],
        namespace=f"review.{system_a}_vs_{system_b}",
        inputs={
            "predictions_a": f"{system_a}_predictions",
            "predictions_b": f"{system_b}_predictions",
        },
        tags=["evaluation", "review"],
    )


def create_pipeline(systems: Sequence[str] = SYSTEMS, **kwargs) -> Pipeline:
    """Evaluation of ``systems`` (default: all of :data:`SYSTEMS`) and their comparison table."""
    per_system = [
        Pipeline(
            _template(),
            namespace=f"evaluation.{system}",
            inputs={"predictions": f"{system}_predictions", "documents": "documents"},
            parameters={
                "params:evaluation": "params:evaluation",
                "params:system": f"params:evaluation.systems.{system}",
            },
        )
        for system in systems
    ]
    # The comparison reads the namespaced metrics of every system; Kedro warns about any dataset
    # name with a dot outside a namespace, which is exactly what these names are on purpose.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")
        comparison = Pipeline(
            [
                Node(
                    build_comparison,
                    inputs=[f"evaluation.{system}.metrics" for system in systems],
                    outputs=["comparison", "comparison_table"],
                    name="build_comparison",
                    tags=["evaluation", "reporting"],
                )
            ]
        )
    reviews = [
        create_review_pipeline(a, b) for a, b in REVIEW_PAIRS if a in systems and b in systems
    ]
    return sum(per_system + reviews, Pipeline([])) + comparison
