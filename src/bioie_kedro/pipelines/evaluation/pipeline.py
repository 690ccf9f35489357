"""Wiring of the evaluation pipeline: one template per system under ``evaluation.<system>``."""

import warnings

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.evaluation.nodes import (
    build_comparison,
    evaluate_system,
    plot_f1_per_length,
    plot_f1_per_type,
    render_metrics_table,
)

#: Systems compared. Each provides ``<system>_predictions`` (documents per ``<corpus>/<split>``)
#: and has an entry under ``evaluation.systems`` in the parameters. Later pipelines add theirs.
SYSTEMS: tuple[str, ...] = ("dictionary",)


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


def create_pipeline(**kwargs) -> Pipeline:
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
        for system in SYSTEMS
    ]
    # The comparison reads the namespaced metrics of every system; Kedro warns about any dataset
    # name with a dot outside a namespace, which is exactly what these names are on purpose.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")
        comparison = Pipeline(
            [
                Node(
                    build_comparison,
                    inputs=[f"evaluation.{system}.metrics" for system in SYSTEMS],
                    outputs=["comparison", "comparison_table"],
                    name="build_comparison",
                    tags=["evaluation", "reporting"],
                )
            ]
        )
    return sum(per_system, Pipeline([])) + comparison
