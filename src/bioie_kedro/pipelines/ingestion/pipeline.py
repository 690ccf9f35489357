"""Wiring of the ingestion pipeline."""

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.ingestion.nodes import build_documents, build_ingestion_report


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_documents,
                inputs=["raw_corpora", "params:ingestion"],
                outputs="documents",
                name="build_documents",
                tags=["ingestion"],
            ),
            Node(
                build_ingestion_report,
                inputs=["raw_corpora", "documents", "params:ingestion"],
                outputs="ingestion_report",
                name="build_ingestion_report",
                tags=["ingestion", "reporting"],
            ),
        ]
    )
