"""The notebooks in notebooks/ run top to bottom on a `kedro run --env test` (through
`%load_ext kedro.ipython` and `%reload_kedro --env=test --params=data_root=...`), and the numbers
each one shows agree with the pipelines' own outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trained_project import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"


def _execute(name: str, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run the notebook in a fresh kernel; return what its `checks` cell printed (JSON) and,
    under "figures", how many images it drew."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("BIOIE_KEDRO_ENV", "test")
    monkeypatch.setenv("BIOIE_DATA_ROOT", str(data_root))
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), f"{name}: commit it cleared"
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # run from notebooks/, as Jupyter
    )
    client.execute()
    (checks,) = [c for c in notebook.cells if "checks" in c.metadata.get("tags", [])]
    printed = "".join(o.get("text", "") for o in checks.outputs if o.output_type == "stream")
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    return {**json.loads(printed.strip().splitlines()[-1]), "figures": figures}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


pytestmark = pytest.mark.slow


def test_corpus_exploration_counts_what_ingestion_reported(trained_data_root, monkeypatch):
    checks = _execute("01_corpus_exploration.ipynb", trained_data_root, monkeypatch)
    report = _json(trained_data_root / "08_reporting" / "ingestion_report.json")["corpora"]
    expected = {
        f"{corpus}/{split}": counts
        for corpus, splits in report.items()
        for split, counts in splits.items()
    }
    assert set(checks["documents"]) == set(expected) == {"demo/train", "demo/dev", "demo/test"}
    for key, counts in expected.items():
        assert checks["documents"][key] == counts["documents"]
        assert checks["entities"][key] == counts["mentions"]
    assert checks["figures"] == 1


def test_retrieval_inspection_shows_the_index_nearest_units(trained_data_root, monkeypatch):
    from bioie_kedro.retrieval.index import VectorIndex

    checks = _execute("02_retrieval_inspection.ipynb", trained_data_root, monkeypatch)
    (index_dir,) = (trained_data_root / "06_models" / "retrieval" / "index").glob("*/index")
    expected = VectorIndex.load(index_dir).search_texts([checks["query"]], k=5)[0]
    assert [unit_id for unit_id, _ in checks["neighbours"]] == [unit_id for unit_id, _ in expected]
    assert [s for _, s in checks["neighbours"]] == pytest.approx([s for _, s in expected], abs=1e-5)
    scores = [s for _, s in checks["neighbours"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 5


def test_error_analysis_agrees_with_the_evaluation_pipeline(trained_data_root, monkeypatch):
    checks = _execute("03_error_analysis.ipynb", trained_data_root, monkeypatch)
    assert (checks["system"], checks["partition"]) == ("dictionary", "demo/test")
    metrics = _json(trained_data_root / "08_reporting" / "dictionary" / "metrics.json")
    strict = metrics["partitions"]["demo/test"]["ner"]["micro"]["strict"]
    outcomes = checks["outcomes"]
    assert outcomes["correct"] == strict["correct"] > 0
    assert outcomes.get("wrong type", 0) + outcomes.get("boundary", 0) == strict["incorrect"]
    assert outcomes.get("missed", 0) == strict["missed"]
    assert outcomes.get("spurious", 0) == strict["spurious"]
    assert checks["figures"] == 1  # the confusion heatmap


def test_dpop_curves_plot_the_logged_steps(trained_data_root, monkeypatch):
    checks = _execute("04_dpop_training_curves.ipynb", trained_data_root, monkeypatch)
    log = _json(trained_data_root / "08_reporting" / "dfpo" / "preference" / "training_log.json")
    assert checks["steps"] == [step["step"] for step in log["history"]]
    assert len(checks["steps"]) == log["global_steps"] > 0
    assert checks["final_loss"] == pytest.approx(log["history"][-1]["loss"])
    assert checks["figures"] == 1
