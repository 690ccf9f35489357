"""`python -m bioie_kedro.metrics GOLD PRED`: JSON on stdout, clear errors, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bioie_kedro.metrics.__main__ import main

GOLD = (
    "1|t|Aspirin caused gastric ulcer.\n1|a|Renal failure followed.\n"
    "1\t0\t7\tAspirin\tChemical\tD001241\n"
    "1\t15\t28\tgastric ulcer\tDisease\tD013276\n"
    "1\t30\t43\tRenal failure\tDisease\tD051437\n"
    "1\tCID\tD001241\tD013276\n\n"
)
# Aspirin correct, "ulcer" partial (boundary error), renal failure missed, "caused" spurious
PRED = (
    "1|t|Aspirin caused gastric ulcer.\n1|a|Renal failure followed.\n"
    "1\t0\t7\tAspirin\tChemical\tD001241\n"
    "1\t8\t14\tcaused\tDisease\t-1\n"
    "1\t23\t28\tulcer\tDisease\tD013276\n"
    "1\tCID\tD001241\tD013276\n\n"
)


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    return path


def test_prints_scores_for_each_scheme_and_writes_nothing(tmp_path, capsys):
    gold, pred = write(tmp_path, "gold.txt", GOLD), write(tmp_path, "pred.txt", PRED)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([str(gold), str(pred), "--bootstrap", "0", "--relations", "concept"]) == 0
    result = json.loads(capsys.readouterr().out)
    micro = result["ner"]["micro"]
    # strict: COR 1 of POS 3 / ACT 3 -> 1/3; partial: (1 + 0.5 * 1) / 3 = 0.5
    assert micro["strict"]["f1"] == pytest.approx(1 / 3)
    assert micro["partial"]["precision"] == pytest.approx(0.5)
    assert set(micro) == {"strict", "exact", "partial", "type"}
    # concept-level CID pair (D001241, D013276) predicted exactly
    assert result["relations"]["micro"]["f1"] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_type_map_and_types(tmp_path, capsys):
    gold, pred = write(tmp_path, "gold.txt", GOLD), write(tmp_path, "pred.txt", PRED)
    assert (
        main(
            [
                str(gold),
                str(pred),
                "--bootstrap",
                "0",
                "--type-map",
                "Chemical=Thing",
                "Disease=Thing",
            ]
        )
        == 0
    )
    assert set(json.loads(capsys.readouterr().out)["ner"]["per_type"]) == {"Thing"}
    assert main([str(gold), str(pred), "--bootstrap", "0", "--types", "Chemical"]) == 0
    assert json.loads(capsys.readouterr().out)["ner"]["micro"]["strict"]["f1"] == 1.0


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        (
            "\n".join("2" + line[1:] if line else line for line in PRED.split("\n")),
            "'2': predicted document id is not in the gold",
        ),
        (PRED.replace("Renal failure followed", "Renal failure followz"), "'1'"),
        (PRED.replace("1\t8\t14\tcaused", "1\t8\t14\tcausex"), "pred.txt, line 4"),
    ],
)
def test_bad_predictions_exit_2_with_a_clear_message(tmp_path, capsys, pred, message):
    gold, pred_path = write(tmp_path, "gold.txt", GOLD), write(tmp_path, "pred.txt", pred)
    assert main([str(gold), str(pred_path), "--bootstrap", "0"]) == 2
    err = capsys.readouterr()
    assert message in err.err and err.out == ""


def test_runs_as_a_module(tmp_path):
    gold = write(tmp_path, "gold.txt", GOLD)
    done = subprocess.run(
        [sys.executable, "-m", "bioie_kedro.metrics", str(gold), str(gold), "--bootstrap", "10"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ner"]["micro"]["strict"]["f1"] == 1.0


def test_parquet_documents_are_accepted(tmp_path, capsys):
    from bioie_kedro.corpora.pubtator import read_pubtator
    from bioie_kedro.datasets import DocumentsDataset

    gold = write(tmp_path, "gold.txt", GOLD)
    parquet = tmp_path / "pred.parquet"
    DocumentsDataset(filepath=str(parquet)).save(
        read_pubtator(write(tmp_path, "p.txt", PRED), source="p", split="t").documents
    )
    assert main([str(gold), str(parquet), "--pred-format", "parquet", "--bootstrap", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["ner"]["micro"]["strict"]["f1"] == pytest.approx(
        1 / 3
    )
