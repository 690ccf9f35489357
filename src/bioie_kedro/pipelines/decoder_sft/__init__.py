"""``decoder_sft``: instruction tuning of a causal LM for NER and RE, answers mapped to spans."""

from bioie_kedro.pipelines.decoder_sft.pipeline import create_pipeline, create_sft_pipeline

__all__ = ["create_pipeline", "create_sft_pipeline"]
