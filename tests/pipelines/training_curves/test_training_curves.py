"""training_curves: the nodes draw what the logs hold; the pipeline saves versioned PNGs."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from bioie_kedro.pipelines.training_curves.nodes import (
    plot_preference_curves,
    plot_sft_learning_curves,
)
from bioie_kedro.pipelines.training_curves.pipeline import create_pipeline
from tests.trained_project import PROJECT_ROOT

DPOP_LOG = {
    "pairs": 16,
    "settings": {"loss_type": "dpop", "beta": 0.4, "dpop_lambda": 2.0},
    "history": [
        {
            "step": 1,
            "loss": 0.69,
            "rewards/chosen": 0.0,
            "rewards/rejected": 0.0,
            "rewards/margins": 0.0,
            "rewards/accuracies": 0.0,
            "dpop/penalty": 0.0,
        },
        {
            "step": 2,
            "loss": 0.68,
            "rewards/chosen": 0.02,
            "rewards/rejected": -0.01,
            "rewards/margins": 0.03,
            "rewards/accuracies": 1.0,
            "dpop/penalty": 0.1,
        },
        {"train_runtime": 3.2, "step": 2},  # the trainer's summary row: no curve point
    ],
}
DECODER = SimpleNamespace(
    base="scratch:llama",
    training_log={
        "sft": {
            "global_steps": 3,
            "final_train_loss": 6.4,
            "history": [
                {"step": s, "loss": 6.5 - 0.05 * s, "learning_rate": 1e-3 / s} for s in (1, 2, 3)
            ],
        }
    },
)


def _lines(fig):
    return {
        (ax.get_title(), line.get_label()): list(zip(*line.get_data(), strict=True))
        for ax in fig.axes
        for line in ax.get_lines()
    }


def test_preference_curves_plot_every_logged_step_per_panel():
    fig = plot_preference_curves(DPOP_LOG)
    lines = _lines(fig)
    assert lines[("loss", "loss")] == [(1, 0.69), (2, 0.68)]
    assert lines[("implicit rewards", "rewards/margins")] == [(1, 0.0), (2, 0.03)]
    assert ("reward accuracy and DPOP penalty", "dpop/penalty") in lines
    assert "dpop on 16 pairs" in fig.get_suptitle()


def test_sft_curves_plot_loss_and_learning_rate_by_step():
    lines = _lines(plot_sft_learning_curves(DECODER))
    assert [step for step, _ in lines[("training loss", "loss")]] == [1, 2, 3]
    assert lines[("learning rate", "learning_rate")][-1] == (3, pytest.approx(1e-3 / 3))


def test_a_model_without_logged_steps_still_gets_a_figure():
    fig = plot_sft_learning_curves(SimpleNamespace(base=None, training_log={}))
    assert _lines(fig) == {}
    assert any("not logged" in t.get_text() for ax in fig.axes for t in ax.texts)
    assert _lines(plot_preference_curves({"history": []})) == {}


def test_pipeline_slice_saves_both_figures():
    catalog = DataCatalog(
        {
            "decoder_model": MemoryDataset(DECODER),
            "dfpo.preference.training_log": MemoryDataset(DPOP_LOG),
            "decoder_sft_learning_curves": MemoryDataset(copy_mode="assign"),
            "dpop_training_curves": MemoryDataset(copy_mode="assign"),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    for name in ("decoder_sft_learning_curves", "dpop_training_curves"):
        assert len(catalog.load(name).axes) >= 2


@pytest.mark.slow
def test_the_default_run_saves_versioned_pngs(trained_data_root):
    reporting = trained_data_root / "08_reporting"
    for path in ("decoder_sft/learning_curves.png", "dfpo/preference/training_curves.png"):
        (png,) = (reporting / path).glob(f"*/{path.rsplit('/', 1)[-1]}")  # <version>/<name>
        assert png.read_bytes()[:4] == b"\x89PNG"
    # the picture of docs/surfaces.md, refreshed on request (BIOIE_UPDATE_DOCS_IMG=1)
    if os.environ.get("BIOIE_UPDATE_DOCS_IMG") == "1":
        shutil.copyfile(png, PROJECT_ROOT / "docs" / "img" / "dpop_training_curves.png")
