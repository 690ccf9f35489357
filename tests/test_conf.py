"""Every environment's parameter files validate against the typed parameter models."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
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


def _benchmark_parameters() -> dict:
    loader = OmegaConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env="benchmark",
        runtime_params={"data_root": "/tmp/x"},
    )
    return loader["parameters"]


def test_benchmark_decoders_read_corpora_of_the_benchmark_catalog():
    """`--env benchmark` runs decoder_sft and dfpo on real corpus splits that ingestion reads."""
    catalog = yaml.safe_load((CONF / "benchmark" / "catalog.yml").read_text())
    corpora = catalog["raw_corpora"]["corpora"]
    params = _benchmark_parameters()
    stages = {
        "decoder_sft": params["decoder_sft"],
        "dfpo.pre_finetune": params["dfpo"]["pre_finetune"],
        "dfpo.post_finetune": params["dfpo"]["post_finetune"],
    }
    used = set()
    for name, stage in stages.items():
        parsed = DecoderSftParams.model_validate(stage)
        for source in [*parsed.instructions.train, *parsed.instructions.eval]:
            assert source.split in corpora[source.corpus]["splits"], f"{name}: {source}"
            used.add(source.corpus)
        # the demo's scratch model is not what the benchmark measures
        assert parsed.base_model.model_name_or_path != "scratch:llama" or name.endswith(
            "post_finetune"
        )
    assert {"ncbi_disease", "bc5cdr"} <= used
    assert DecoderSftParams.model_validate(params["dfpo"]["pre_finetune"]).training.max_steps > 0
