"""The ``server`` form of the synthetic_labels pipeline (its own module, so that
``kedro run --pipelines=synthetic_labels_server`` finds it): the same nodes, datasets and
parameters, but the annotation node does not take the catalog's ``decoder_model``, so the ``http``
and ``vllm`` backends run without a trained decoder."""

from kedro.pipeline import Pipeline

from bioie_kedro.pipelines.synthetic_labels.pipeline import (
    create_pipeline as create_synthetic_labels_pipeline,
)


def create_pipeline(**kwargs) -> Pipeline:
    return create_synthetic_labels_pipeline(annotator="server")
