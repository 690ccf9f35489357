"""`kedro run --env test --pipelines dfpo`: the main job end to end on the demo corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bioie_kedro.pipelines.dfpo.pipeline import create_pipeline

ROOT = Path(__file__).resolve().parents[3]
KEDRO = str(Path(sys.executable).with_name("kedro"))


def test_stages_are_namespaced_with_their_own_parameters():
    pipeline = create_pipeline()
    names = {node.name for node in pipeline.nodes}
    assert "dfpo.pre_finetune.fine_tune_decoder" in names
    assert "dfpo.post_finetune.fine_tune_decoder" in names
    assert "dfpo.preference.optimise_preferences" in names
    assert "dfpo.pre_finetune.generate_answers" not in names  # stage 1 does not generate
    inputs = pipeline.inputs()
    assert {
        "params:dfpo.pre_finetune",
        "params:dfpo.post_finetune",
        "params:dfpo.preference",
    } <= inputs
    # stage 3 starts from the preference-optimised model, not from a new base
    post = {n.name: n for n in pipeline.nodes}["dfpo.post_finetune.fine_tune_decoder"]
    assert "dfpo_preference_model" in post.inputs


@pytest.mark.slow
def test_dfpo_runs_end_to_end_in_the_test_env(tmp_path):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true"}
    result = subprocess.run(
        [KEDRO, "run", "--env", "test", "--pipelines", "dfpo", "--params", f"data_root={tmp_path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for model in ("stage1_model", "preference_model", "model"):
        (directory,) = (tmp_path / "06_models" / "dfpo" / model).glob(f"*/{model}")
        assert (directory / "model.safetensors").is_file()
    pairs = json.loads((tmp_path / "05_model_input" / "dfpo" / "preference_pairs.json").read_text())
    mining = json.loads(
        (tmp_path / "08_reporting" / "dfpo" / "preference" / "mining_report.json").read_text()
    )
    assert mining["pairs"] == len(pairs) > 0
    assert {"prompt", "chosen", "rejected", "primary_kind"} <= set(pairs[0])
    log = json.loads(
        (tmp_path / "08_reporting" / "dfpo" / "preference" / "training_log.json").read_text()
    )
    assert log["global_steps"] == 3
    assert all("dpop/penalty" in step for step in log["history"])
    rows = json.loads((tmp_path / "08_reporting" / "comparison.json").read_text())["rows"]
    systems = {(r["system"], r["split"]) for r in rows}
    assert ("DFPO (pre-finetune, DPOP, post-finetune)", "test") in systems
    assert ("Dictionary of training mentions", "test") in systems
    metrics = json.loads((tmp_path / "08_reporting" / "dfpo" / "metrics.json").read_text())
    assert metrics["partitions"]
