"""Wiring of retrieval: documents → index (catalog dataset) → ICL examples, RA-IT neighbours → report."""

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.retrieval.nodes import (
    build_rait_neighbours,
    build_retrieval_index,
    plot_retrieval_scores,
    report_retrieval_quality,
    select_icl_examples,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_retrieval_index,
                inputs=["documents", "params:retrieval"],
                outputs="retrieval_index",
                name="build_retrieval_index",
                tags=["training", "gpu", "retrieval"],
            ),
            Node(
                select_icl_examples,
                inputs=["retrieval_index", "documents", "params:retrieval"],
                outputs="best_examples",
                name="select_icl_examples",
                tags=["inference", "gpu", "retrieval"],
            ),
            Node(
                build_rait_neighbours,
                inputs=["retrieval_index", "documents", "params:retrieval"],
                outputs="rait_neighbours",
                name="build_rait_neighbours",
                tags=["training", "retrieval"],
            ),
            Node(
                report_retrieval_quality,
                inputs=["best_examples", "rait_neighbours", "documents", "params:retrieval"],
                outputs="retrieval_quality_report",
                name="report_retrieval_quality",
                tags=["retrieval"],
            ),
            Node(
                plot_retrieval_scores,
                inputs=["best_examples", "rait_neighbours"],
                outputs="retrieval_score_distributions",
                name="plot_retrieval_scores",
                tags=["retrieval", "reporting"],
            ),
        ]
    )
