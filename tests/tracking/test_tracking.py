"""Experiment tracking: what a tracked run logs to MLflow (read back from its SQLite store), and
that an untracked run (every `kedro run --env test` by default) opens no store and imports no
MLflow."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from bioie_kedro.tracking import (
    ALL_PIPELINES,
    MlflowTracking,
    flatten_metrics,
    metric_name,
    tracking_disabled,
    tracking_enabled,
)
from tests.trained_project import KEDRO, PROJECT_ROOT

ENV = {
    **os.environ,
    "KEDRO_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def test_numbers_of_a_report_become_metric_names_and_histories_steps():
    report = {
        "partitions": {"demo/test": {"f1": 0.5, "per_length": {"3+": 0.25}}},
        "history": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5, "note": "x"}],
        "dev_history": [{"epoch": 1.0, "f1": 0.1}, {"epoch": 2.0, "f1": 0.3}],
        "ci": [0.1, 0.9],
        "skipped": {"flag": True, "none": None, "nan": math.nan, "text": "a"},
        "count": 3,
    }
    assert sorted(flatten_metrics(report, "r")) == sorted(
        [
            ("r.partitions.demo/test.f1", 0.5, 0),
            ("r.partitions.demo/test.per_length.3_", 0.25, 0),
            ("r.history.loss", 2.0, 1),
            ("r.history.loss", 1.5, 2),
            ("r.dev_history.epoch", 1.0, 0),
            ("r.dev_history.f1", 0.1, 0),
            ("r.dev_history.epoch", 2.0, 1),
            ("r.dev_history.f1", 0.3, 1),
            ("r.ci.0", 0.1, 0),
            ("r.ci.1", 0.9, 0),
            ("r.count", 3.0, 0),
        ]
    )
    assert list(flatten_metrics({}, "r")) == []
    assert metric_name("a", "b(c)", 3) == "a.b_c_.3"


def test_an_environment_or_one_run_turns_tracking_on_or_off():
    off = {"tracking": {"disable_tracking": {"pipelines": [ALL_PIPELINES]}}}
    on = {"tracking": {"disable_tracking": {"pipelines": ["dfpo"]}}}
    assert tracking_disabled(off) and not tracking_disabled(on) and not tracking_disabled({})
    assert not tracking_enabled(off, {}) and tracking_enabled(on, {})
    # the runtime parameter wins: `--params mlflow_tracking=true` arrives as a boolean
    assert tracking_enabled(off, {"mlflow_tracking": True})
    assert not tracking_enabled(on, {"mlflow_tracking": "false"})
    assert not tracking_enabled({}, {"mlflow_tracking": True})  # no mlflow.yml: no store
    with pytest.raises(ValueError, match="mlflow_tracking must be true or false"):
        tracking_enabled(on, {"mlflow_tracking": "maybe"})


def test_the_hook_takes_the_place_of_kedro_mlflows_entry_point():
    from importlib.metadata import entry_points

    (entry_point,) = [
        e for e in entry_points(group="kedro.hooks") if e.value.startswith("kedro_mlflow")
    ]
    assert MlflowTracking().__name__ == entry_point.name


@pytest.mark.slow
def test_an_untracked_run_opens_no_store_and_imports_no_mlflow(tmp_path):
    result = subprocess.run(
        [
            KEDRO,
            "run",
            "--env",
            "test",
            "--pipelines",
            "ingestion",
            "--params",
            f"data_root={tmp_path}",
        ],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "08_reporting" / "ingestion_report.json").is_file()
    assert not (tmp_path / "mlruns.db").exists() and not (tmp_path / "mlartifacts").exists()
    assert "Mlflow run" not in result.stdout + result.stderr
    # a session (notebooks, the demo) with tracking configured still leaves MLflow unimported
    code = (
        "import sys\n"
        "from kedro.framework.session import KedroSession\n"
        "from kedro.framework.startup import bootstrap_project\n"
        f"bootstrap_project({str(PROJECT_ROOT)!r})\n"
        f"with KedroSession.create({str(PROJECT_ROOT)!r}, env='test',\n"
        f"        runtime_params={{'data_root': {str(tmp_path)!r}}}) as s:\n"
        "    context = s.load_context()\n"
        "    context.catalog\n"
        "print(context.mlflow.server.mlflow_tracking_uri)\n"  # what `kedro mlflow ui` reads
        "print('mlflow' in sys.modules, 'kedro_mlflow' in sys.modules)\n"
    )
    session = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    *_, uri, imported = session.stdout.strip().splitlines()
    assert uri == f"sqlite:///{tmp_path}/mlruns.db"
    assert imported == "False False"
    assert not (tmp_path / "mlruns.db").exists()


@pytest.fixture(scope="module")
def tracked_run(trained_data_root):
    """The shared `kedro run --env test` (tracked), read back from its MLflow store."""
    mlflow = pytest.importorskip("mlflow")
    store = trained_data_root / "mlruns.db"
    assert store.is_file()
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("bioie_kedro_test")
    (run,) = client.search_runs([experiment.experiment_id])
    return client, run


@pytest.mark.slow
def test_a_tracked_run_holds_parameters_metrics_curves_and_reports(tracked_run, trained_data_root):
    client, run = tracked_run
    assert (run.info.run_name, run.info.status) == ("__default__", "FINISHED")
    assert run.data.tags["env"] == "test"

    # parameters of the training nodes, flattened (conf/test/parameters_encoder_ner.yml)
    params = run.data.params
    assert float(params["encoder_ner.training.learning_rate"]) == 1.0e-4
    assert params["encoder_ner.training.max_steps"] == "2"
    assert params["decoder_sft.base_model.model_name_or_path"] == "scratch:llama"

    # evaluation metrics: the numbers of metrics.json, same names, same values
    reporting = trained_data_root / "08_reporting"
    strict = json.loads((reporting / "dictionary" / "metrics.json").read_text())["partitions"][
        "demo/test"
    ]["ner"]["micro"]["strict"]
    prefix = "evaluation.dictionary.metrics.partitions.demo/test.ner.micro.strict"
    assert run.data.metrics[f"{prefix}.f1"] == pytest.approx(strict["f1"])
    assert run.data.metrics[f"{prefix}.correct"] == strict["correct"]

    # training curves: DPOP and the encoder's training, by step
    log = json.loads((reporting / "dfpo" / "preference" / "training_log.json").read_text())
    history = client.get_metric_history(
        run.info.run_id, "dfpo.preference.training_log.history.loss"
    )
    assert [(m.step, m.value) for m in history] == [
        (h["step"], pytest.approx(h["loss"])) for h in log["history"]
    ]
    encoder_report = json.loads((reporting / "encoder_ner" / "run_report.json").read_text())
    assert (
        run.data.metrics["encoder_ner_model.training_log.global_steps"]
        == encoder_report["training"]["global_steps"]
    )
    sft = client.get_metric_history(run.info.run_id, "decoder_model.training_log.sft.history.loss")
    assert len(sft) == 3  # max_steps of conf/test/parameters_decoder_sft.yml, logging_steps 1

    # reports, tables and plots as artifacts
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "evaluation.dictionary.metrics.json",
        "evaluation.dictionary.metrics_table.md",
        "evaluation.dictionary.f1_per_type_plot.png",
        "comparison_table.md",
        "dfpo.preference.training_log.json",
        "encoder_ner_model.training_log.json",
        "ingestion_report.json",
        "dpop_training_curves.png",
        "decoder_sft_learning_curves.png",
    } <= artifacts
    local = client.download_artifacts(run.info.run_id, "comparison_table.md")
    assert open(local).read() == (reporting / "comparison.md").read_text()
