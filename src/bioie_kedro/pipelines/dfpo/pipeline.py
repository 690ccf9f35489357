"""Wiring of dfpo: pre-finetune → preference pairs → DPOP → post-finetune → answers → spans.

Stages 1 and 3 are the decoder_sft template instantiated twice under namespaces
(``dfpo.pre_finetune`` with its own instruction mix and base model, ``dfpo.post_finetune``
starting from the preference-optimised model on the target corpus). The registered ``dfpo``
pipeline (see ``pipeline_registry``) adds ingestion, retrieval and evaluation around it.
"""

import warnings

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.decoder_sft.pipeline import create_sft_pipeline
from bioie_kedro.pipelines.dfpo.nodes import mine_preference_pairs, optimise_preferences


def create_pipeline(**kwargs) -> Pipeline:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")
        pre_finetune = Pipeline(
            create_sft_pipeline(build_base=True, generation=False),
            namespace="dfpo.pre_finetune",
            inputs={"documents": "documents", "rait_neighbours": "rait_neighbours"},
            outputs={"decoder_model": "dfpo_stage1_model"},
            parameters={"params:decoder_sft": "params:dfpo.pre_finetune"},
        )
        post_finetune = Pipeline(
            create_sft_pipeline(build_base=False, generation=True),
            namespace="dfpo.post_finetune",
            inputs={
                "documents": "documents",
                "rait_neighbours": "rait_neighbours",
                "decoder_base": "dfpo_preference_model",
            },
            outputs={"decoder_model": "dfpo_model", "predictions": "dfpo_predictions"},
            parameters={"params:decoder_sft": "params:dfpo.post_finetune"},
        )
        preference = Pipeline(
            [
                Node(
                    mine_preference_pairs,
                    inputs=[
                        "dfpo_stage1_model",
                        "dfpo.pre_finetune.train_instructions",
                        "params:dfpo.preference",
                        "params:dfpo.pre_finetune",
                    ],
                    outputs=["preference_pairs", "mining_report"],
                    name="mine_preference_pairs",
                    tags=["inference", "gpu", "dfpo"],
                ),
                Node(
                    optimise_preferences,
                    inputs=["dfpo_stage1_model", "preference_pairs", "params:dfpo.preference"],
                    outputs=["dfpo_preference_model", "training_log"],
                    name="optimise_preferences",
                    tags=["training", "gpu", "dfpo"],
                ),
            ],
            namespace="dfpo.preference",
            inputs={"dfpo_stage1_model", "dfpo.pre_finetune.train_instructions"},
            outputs={"preference_pairs", "dfpo_preference_model"},
            parameters={"params:dfpo.preference", "params:dfpo.pre_finetune"},
        )
    return pre_finetune + preference + post_finetune
