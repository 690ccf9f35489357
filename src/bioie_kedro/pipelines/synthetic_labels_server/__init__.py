"""``synthetic_labels_server``: synthetic_labels annotated by a server or vLLM, without decoder_model."""

from bioie_kedro.pipelines.synthetic_labels_server.pipeline import create_pipeline

__all__ = ["create_pipeline"]
