"""Wiring of encoder_ner: documents → fine-tuned encoder (catalog dataset) → predictions."""

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.encoder_ner.nodes import predict_entities, train_encoder


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_encoder,
                inputs=["documents", "params:encoder_ner"],
                outputs="encoder_ner_model",
                name="train_encoder",
                tags=["training", "gpu", "encoder_ner"],
            ),
            Node(
                predict_entities,
                inputs=["encoder_ner_model", "documents", "params:encoder_ner"],
                outputs=["encoder_ner_predictions", "encoder_ner_report"],
                name="predict_entities",
                tags=["inference", "gpu", "encoder_ner"],
            ),
        ]
    )
