"""Wiring of training_curves: the decoder's SFT and DFPO's preference stage as versioned plots.

Reads what other pipelines saved (``decoder_model``, ``dfpo.preference.training_log``); run it
after them, e.g. ``kedro run --pipelines=training_curves`` (it is part of ``__default__``).
"""

import warnings

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.training_curves.nodes import (
    plot_preference_curves,
    plot_sft_learning_curves,
)


def create_pipeline(**kwargs) -> Pipeline:
    # dfpo.preference.training_log is a namespaced output of dfpo read from outside it: Kedro
    # warns about the dot, which is exactly what the name is on purpose
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")
        preference = Node(
            plot_preference_curves,
            inputs="dfpo.preference.training_log",
            outputs="dpop_training_curves",
            name="plot_preference_curves",
            tags=["training_curves", "reporting"],
        )
    return Pipeline(
        [
            Node(
                plot_sft_learning_curves,
                inputs="decoder_model",
                outputs="decoder_sft_learning_curves",
                name="plot_sft_learning_curves",
                tags=["training_curves", "reporting"],
            ),
            preference,
        ]
    )
