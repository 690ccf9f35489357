"""Kedro hooks of the project: where a run's time goes."""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class NodeTimings:
    """Logs each node's wall time when it completes and, at the end of a run, the slowest nodes.

    Long steps are mostly training and generation; the summary says which, in seconds and as a
    share of the run.
    """

    def __init__(self, top: int = 8) -> None:
        self.top = top
        self._started: dict[str, float] = {}
        self._seconds: dict[str, float] = {}

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._started.clear()
        self._seconds.clear()

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        started = self._started.pop(node.name, None)
        if started is None:
            return
        seconds = time.perf_counter() - started
        self._seconds[node.name] = seconds
        logger.info("Node %s took %.1f s", node.name, seconds)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not self._seconds:
            return
        total = sum(self._seconds.values())
        slowest = sorted(self._seconds.items(), key=lambda item: -item[1])[: self.top]
        lines = ", ".join(
            f"{name} {seconds:.1f} s ({100 * seconds / total:.0f} %)" for name, seconds in slowest
        )
        logger.info("Time in nodes: %.1f s; slowest: %s", total, lines)

    def summary(self) -> dict[str, float]:
        """Seconds per completed node of the last run."""
        return dict(self._seconds)
