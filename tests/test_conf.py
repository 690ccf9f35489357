"""Every environment's parameter files validate against the typed parameter models."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from bioie_kedro.pipelines.decoder_sft.params import DecoderSftParams
from bioie_kedro.pipelines.dfpo.params import PreferenceParams
from bioie_kedro.pipelines.dictionary_baseline.params import DictionaryBaselineParams
from bioie_kedro.pipelines.encoder_ner.params import EncoderNerParams
from bioie_kedro.pipelines.evaluation.params import EvaluationParams
from bioie_kedro.pipelines.ingestion.params import IngestionParams
from bioie_kedro.pipelines.retrieval.params import RetrievalParams

CONF = Path(__file__).resolve().parents[1] / "conf"
MODELS = {
    "ingestion": IngestionParams,
    "dictionary_baseline": DictionaryBaselineParams,
    "encoder_ner": EncoderNerParams,
    "evaluation": EvaluationParams,
    "retrieval": RetrievalParams,
    "decoder_sft": DecoderSftParams,
}


@pytest.mark.parametrize("env", ["local", "test", "benchmark", "paper"])  # local: base alone
def test_parameters_of_every_environment_validate(env):
    loader = OmegaConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env=env,
        runtime_params={"data_root": "/tmp/x"},
    )
    params = loader["parameters"]
    for key, model in MODELS.items():
        assert key in params, f"{env}: no {key} parameters"
        model.model_validate(params[key])
    assert "dfpo" in params, f"{env}: no dfpo parameters"
    DecoderSftParams.model_validate(params["dfpo"]["pre_finetune"])
    DecoderSftParams.model_validate(params["dfpo"]["post_finetune"])
    PreferenceParams.model_validate(params["dfpo"]["preference"])
