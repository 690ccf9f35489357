"""Where a run's time goes (node timings hook) and terminal-only progress bars."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from bioie_kedro.hooks import NodeTimings
from bioie_kedro.progress import interactive, progress


def test_node_timings_logs_each_node_and_the_slowest(caplog):
    hooks = NodeTimings(top=1)
    hooks.before_pipeline_run({}, None, None)
    for name in ("fast", "slow"):
        node = SimpleNamespace(name=name)
        hooks.before_node_run(node)
        hooks._started[name] -= 5.0 if name == "slow" else 0.5  # pretend the node ran that long
        with caplog.at_level(logging.INFO, logger="bioie_kedro.hooks"):
            hooks.after_node_run(node)
    with caplog.at_level(logging.INFO, logger="bioie_kedro.hooks"):
        hooks.after_pipeline_run({}, None, None)
    seconds = hooks.summary()
    assert seconds["slow"] > seconds["fast"] >= 0.5
    assert any("Node slow took 5." in r.getMessage() for r in caplog.records)
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Time in nodes")]
    assert summary and "slowest: slow" in summary[0] and "fast" not in summary[0]


def test_progress_is_quiet_unless_a_terminal_or_forced(monkeypatch, capsys):
    monkeypatch.setenv("BIOIE_PROGRESS", "0")
    assert not interactive()
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("BIOIE_PROGRESS", "1")
    assert interactive()
    assert list(progress(range(3), desc="counting")) == [0, 1, 2]
    assert "counting" in capsys.readouterr().err
