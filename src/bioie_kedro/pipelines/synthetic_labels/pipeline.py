"""Wiring of synthetic_labels: documents → sentences → LLM answers (cached) → validated triples →
relation dataset → student → predictions → scores.

Two forms, which differ in the annotation node only: ``annotator="decoder"`` (the registered
``synthetic_labels``) takes the catalog's ``decoder_model`` from ``decoder_sft`` as an input, so
Kedro runs it after the decoder is trained; ``annotator="server"`` (the pipeline
``synthetic_labels_server``) does without it, for the ``http`` and ``vllm`` backends, so that no
decoder has to exist.
"""

from typing import Literal

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.synthetic_labels.nodes import (
    annotate_sentences,
    build_relation_dataset,
    evaluate_student,
    predict_relations,
    select_sentences,
    train_student,
    validate_annotations,
)


def create_pipeline(annotator: Literal["decoder", "server"] = "decoder", **kwargs) -> Pipeline:
    if annotator not in ("decoder", "server"):
        raise ValueError(f"annotator must be 'decoder' or 'server', got {annotator!r}")
    annotation_inputs = [
        "synthetic_sentences",
        "synthetic_annotator_api_key",
        "params:synthetic_labels",
    ]
    if annotator == "decoder":
        annotation_inputs.append("decoder_model")
    return Pipeline(
        [
            Node(
                select_sentences,
                inputs=["documents", "params:synthetic_labels"],
                outputs="synthetic_sentences",
                name="select_sentences",
                tags=["synthetic_labels"],
            ),
            Node(
                annotate_sentences,
                inputs=annotation_inputs,
                outputs="synthetic_annotations",
                name="annotate_sentences",
                tags=["inference", "gpu", "synthetic_labels"],
            ),
            Node(
                validate_annotations,
                inputs=["synthetic_sentences", "synthetic_annotations", "params:synthetic_labels"],
                outputs=["synthetic_triples", "synthetic_annotation_report"],
                name="validate_annotations",
                tags=["synthetic_labels"],
            ),
            Node(
                build_relation_dataset,
                inputs=["synthetic_sentences", "synthetic_triples", "params:synthetic_labels"],
                outputs=["synthetic_relation_dataset", "synthetic_dataset_report"],
                name="build_relation_dataset",
                tags=["synthetic_labels"],
            ),
            Node(
                train_student,
                inputs=["synthetic_relation_dataset", "params:synthetic_labels"],
                outputs="relation_student_model",
                name="train_relation_student",
                tags=["training", "gpu", "synthetic_labels"],
            ),
            Node(
                predict_relations,
                inputs=[
                    "relation_student_model",
                    "synthetic_relation_dataset",
                    "documents",
                    "params:synthetic_labels",
                ],
                outputs="relation_student_predictions",
                name="predict_relations",
                tags=["inference", "synthetic_labels"],
            ),
            Node(
                evaluate_student,
                inputs=[
                    "synthetic_relation_dataset",
                    "relation_student_predictions",
                    "documents",
                    "params:synthetic_labels",
                ],
                outputs="relation_student_metrics",
                name="evaluate_relation_student",
                tags=["synthetic_labels", "reporting"],
            ),
        ]
    )
