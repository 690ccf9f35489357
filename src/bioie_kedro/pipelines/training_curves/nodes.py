"""Nodes of training_curves: a training log in, one matplotlib figure out.

The logs are those the trainers keep (Hugging Face ``log_history`` entries, one per logged step):
the decoder's SFT history in its ``training_log["sft"]["history"]``, DPOP's in
``dfpo.preference.training_log["history"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: DPOP columns drawn, per panel (those missing from a log are left out).
PREFERENCE_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loss", ("loss",)),
    ("implicit rewards", ("rewards/chosen", "rewards/rejected", "rewards/margins")),
    ("reward accuracy and DPOP penalty", ("rewards/accuracies", "dpop/penalty")),
)
SFT_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("training loss", ("loss",)),
    ("learning rate", ("learning_rate",)),
)


def _curves(
    history: Sequence[Mapping[str, Any]],
    panels: Sequence[tuple[str, Sequence[str]]],
    title: str,
) -> Figure:
    """One panel per group of columns, x = the logged step (position when there is none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = [row for row in history if "loss" in row or any("rewards/" in k for k in row)]
    steps = [row.get("step", index + 1) for index, row in enumerate(rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.4), squeeze=False)
    for ax, (panel, columns) in zip(axes[0], panels, strict=True):
        drawn = False
        for column in columns:
            points = [(s, r[column]) for s, r in zip(steps, rows, strict=True) if column in r]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=column)
                drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes)
        elif len(columns) > 1:
            ax.legend(fontsize=8)
        ax.set_title(panel)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if not rows:
        fig.text(0.5, 0.02, "no logged step (logging_steps larger than the run?)", ha="center")
    fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_sft_learning_curves(decoder_model: Any) -> Figure:
    """Training loss and learning rate per step of a decoder's supervised fine-tuning."""
    log = getattr(decoder_model, "training_log", {}) or {}
    sft = log.get("sft", {})
    title = (
        f"SFT of {getattr(decoder_model, 'base', None) or 'the decoder'}: "
        f"{sft.get('global_steps', '?')} steps, final loss {sft.get('final_train_loss', '?')}"
    )
    return _curves(sft.get("history", []), SFT_PANELS, title)


def plot_preference_curves(training_log: Mapping[str, Any]) -> Figure:
    """DPOP loss, implicit rewards (chosen, rejected, margin), accuracy and penalty per step."""
    settings = training_log.get("settings", {})
    title = (
        f"{settings.get('loss_type', 'preference')} on {training_log.get('pairs', '?')} pairs "
        f"(beta {settings.get('beta', '?')}, lambda {settings.get('dpop_lambda', '-')})"
    )
    return _curves(training_log.get("history", []), PREFERENCE_PANELS, title)
