"""Wiring of decoder_sft: instructions → base decoder → SFT → answers → predicted spans.

:func:`create_sft_pipeline` is the modular template: the registered ``decoder_sft`` pipeline is
its full form, and DFPO instantiates it twice under namespaces (``dfpo.pre_finetune`` without
generation, ``dfpo.post_finetune`` starting from the preference-optimised model).
"""

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.decoder_sft.nodes import (
    build_instructions,
    extract_predictions,
    fine_tune_decoder,
    generate_answers,
    prepare_base_decoder,
)


def create_sft_pipeline(*, build_base: bool = True, generation: bool = True) -> Pipeline:
    """The SFT template with free inputs ``documents``, ``rait_neighbours`` and ``params:decoder_sft``
    (plus ``decoder_base`` when ``build_base`` is false) and outputs ``decoder_model`` and, with
    ``generation``, ``predictions``."""
    nodes = [
        Node(
            build_instructions,
            inputs=["documents", "rait_neighbours", "params:decoder_sft"],
            outputs=["train_instructions", "eval_instructions", "instructions_report"],
            name="build_instructions",
            tags=["decoder_sft"],
        ),
        Node(
            fine_tune_decoder,
            inputs=["decoder_base", "train_instructions", "params:decoder_sft"],
            outputs="decoder_model",
            name="fine_tune_decoder",
            tags=["training", "gpu", "decoder_sft"],
        ),
    ]
    if build_base:
        nodes.append(
            Node(
                prepare_base_decoder,
                inputs=["train_instructions", "params:decoder_sft"],
                outputs="decoder_base",
                name="prepare_base_decoder",
                tags=["decoder_sft"],
            )
        )
    if generation:
        nodes += [
            Node(
                generate_answers,
                inputs=["decoder_model", "eval_instructions", "params:decoder_sft"],
                outputs=["generations", "generation_report"],
                name="generate_answers",
                tags=["inference", "gpu", "decoder_sft"],
            ),
            Node(
                extract_predictions,
                inputs=["eval_instructions", "generations", "documents", "params:decoder_sft"],
                outputs=["predictions", "prediction_report"],
                name="extract_predictions",
                tags=["inference", "decoder_sft"],
            ),
        ]
    return Pipeline(nodes)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        create_sft_pipeline(),
        inputs={"documents": "documents", "rait_neighbours": "rait_neighbours"},
        outputs={"predictions": "decoder_sft_predictions", "decoder_model": "decoder_model"},
        namespace="decoder_sft",
        parameters={"params:decoder_sft": "params:decoder_sft"},
    )
