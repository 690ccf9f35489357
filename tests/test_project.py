"""The Kedro project as users drive it: the registry, `kedro run` per environment, cheap imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bioie_kedro.corpora.pubtator import read_pubtator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).with_name("kedro"))


def run(
    args: list[str], env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true", **(env or {})}
    return subprocess.run(
        args,
        check=False,
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_registry_finds_pipelines_without_importing_torch():
    code = (
        "import sys\n"
        "from kedro.framework.startup import bootstrap_project\n"
        f"bootstrap_project({str(PROJECT_ROOT)!r})\n"
        "from kedro.framework.project import pipelines\n"
        "names = sorted(pipelines)\n"
        "print(names, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False False"), result.stdout
    assert "'ingestion'" in result.stdout and "'__default__'" in result.stdout


def test_kedro_registry_list_cli():
    result = run([KEDRO, "registry", "list"])
    assert result.returncode == 0, result.stderr
    assert "- ingestion" in result.stdout


def test_kedro_run_test_env_default_pipeline_on_demo_corpus(tmp_path):
    result = run([KEDRO, "run", "--env", "test", "--params", f"data_root={tmp_path}"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "08_reporting" / "ingestion_report.json").read_text())
    demo_dir = PROJECT_ROOT / "data" / "01_raw" / "demo"
    for split in ("train", "dev", "test"):
        expected = read_pubtator(
            demo_dir / f"demo_{split}.PubTator.txt", source="demo", split=split
        ).documents
        counts = report["corpora"]["demo"][split]
        assert counts["documents"] == len(expected)
        assert counts["mentions"] == sum(len(d.entities) for d in expected)
        assert counts["relations_per_type"] == {"CID": sum(len(d.relations) for d in expected)}
        assert counts["entities_cut_by_sentence_boundary"] == 0
        assert (tmp_path / "03_primary" / "documents" / "demo" / f"{split}.parquet").is_file()
    assert report["corpora"]["demo"]["train"]["documents"] >= 30

    # every system is scored by the evaluation pipeline: the dictionary on dev and test, the
    # encoder (two training steps in conf/test), the SFT decoder and DFPO (three steps per stage)
    # on test
    reporting = tmp_path / "08_reporting"
    rows = json.loads((reporting / "comparison.json").read_text())["rows"]
    assert {(r["system"], r["corpus"], r["split"]) for r in rows} == {
        ("Dictionary of training mentions", "demo", "dev"),
        ("Dictionary of training mentions", "demo", "test"),
        ("Encoder token classification (fine-tuned)", "demo", "test"),
        ("Decoder, supervised instruction tuning", "demo", "test"),
        ("DFPO (pre-finetune, DPOP, post-finetune)", "demo", "test"),
    }
    assert all(0.0 <= r["strict_f1"] <= r["partial_f1"] <= 1.0 for r in rows)
    decoder_rows = [r for r in rows if r["system"].startswith(("Decoder", "DFPO"))]
    assert all("strings_f1" in r and "unparsable" in r for r in decoder_rows)
    assert all(r["strict_f1"] > 0 for r in rows if r["system"].startswith("Dictionary"))
    assert (
        "| demo | test | Dictionary of training mentions |"
        in (reporting / "comparison.md").read_text()
    )
    for system in ("dictionary", "encoder_ner"):
        for name in ("metrics.json", "metrics.md", "f1_per_type.png", "f1_per_length.png"):
            assert (reporting / system / name).stat().st_size > 0
        assert (reporting / system / "f1_per_type.png").read_bytes()[:4] == b"\x89PNG"

    # the trained encoder is a versioned directory: safetensors, tokenizer, label map, settings
    (model_dir,) = (tmp_path / "06_models" / "encoder_ner" / "model").glob("*/model")
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "bioie_token_classifier.json",
    } <= {p.name for p in model_dir.iterdir()}
    config = json.loads((model_dir / "config.json").read_text())
    assert set(config["id2label"].values()) == {
        "O",
        "B-Chemical",
        "I-Chemical",
        "B-Disease",
        "I-Disease",
    }
    run_report = json.loads((reporting / "encoder_ner" / "run_report.json").read_text())
    assert run_report["training"]["global_steps"] == 2
    assert run_report["prediction"]["demo/test"]["sentences"] > 0
    assert run_report["prediction"]["demo/test"]["abbreviation_mentions_added"] >= 0


@pytest.mark.real_data
@pytest.mark.slow
def test_benchmark_run_on_real_corpora(shared_data, tmp_path):
    """The benchmark environment: ingestion counts, then the dictionary baseline scored (the
    encoder's training belongs to benchmarks/, not to the test suite)."""
    env = {"BIOIE_CORPORA": str(shared_data)}
    for selection in (
        "--pipelines=ingestion,dictionary_baseline",
        "--namespaces=evaluation.dictionary",
    ):
        result = run(
            [
                KEDRO,
                "run",
                "--env=benchmark",
                selection,
                "--params",
                f"data_root={tmp_path},mlflow_tracking=false",
            ],
            env=env,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    corpora = json.loads((tmp_path / "08_reporting" / "ingestion_report.json").read_text())[
        "corpora"
    ]

    ncbi = corpora["ncbi_disease"]
    assert [ncbi[s]["documents"] for s in ("train", "dev", "test")] == [592, 100, 100]
    assert [ncbi[s]["mentions"] for s in ("train", "dev", "test")] == [5134, 787, 960]
    (dup,) = ncbi["train"]["skipped"]
    assert dup["record"].startswith("8528200") and "duplicate" in dup["reason"]

    cdr = corpora["bc5cdr"]
    assert [cdr[s]["documents"] for s in ("train", "dev", "test")] == [500, 500, 500]
    assert [cdr[s]["mentions_per_type"]["Chemical"] for s in ("train", "dev", "test")] == [
        5203,
        5347,
        5385,
    ]
    assert [cdr[s]["mentions_per_type"]["Disease"] for s in ("train", "dev", "test")] == [
        4182,
        4244,
        4424,
    ]
    assert [cdr[s]["relations_per_type"]["CID"] for s in ("train", "dev", "test")] == [
        1038,
        1012,
        1066,
    ]

    ddi = corpora["ddi"]
    assert (ddi["train"]["documents"], ddi["train"]["relations"]) == (714, 4021)
    assert (ddi["test"]["documents"], ddi["test"]["relations"]) == (191, 979)

    chemprot = corpora["chemprot"]
    assert [chemprot[s]["relations"] for s in ("train", "dev", "test")] == [4157, 2416, 3458]

    for corpus in corpora.values():
        for split in corpus.values():
            assert split["entity_text_mismatches"] == 0
    for name in ("ncbi_disease", "bc5cdr"):
        for split in corpora[name].values():
            assert split["entities_cut_by_sentence_boundary"] == 0, split[
                "examples_cut_by_sentence_boundary"
            ]

    # the floor every model must beat, on the standard test sets (measured: NCBI strict 69.25,
    # BC5CDR strict 69.99; see docs/benchmarks.md)
    metrics = json.loads((tmp_path / "08_reporting" / "dictionary" / "metrics.json").read_text())
    for key in ("ncbi_disease/test", "bc5cdr/test"):
        micro = metrics["partitions"][key]["ner"]["micro"]
        assert 0.65 < micro["strict"]["f1"] < 0.75, micro["strict"]
        assert micro["strict"]["f1"] < micro["partial"]["f1"]
