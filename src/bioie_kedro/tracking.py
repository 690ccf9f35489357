"""Experiment tracking: one MLflow run per `kedro run` (kedro-mlflow), with the project's
metrics, training curves and reports as the catalog marks them.

:class:`MlflowTracking` is the project hook (``settings.HOOKS``). It drives kedro-mlflow's own
hook (node parameters, run tags, run lifecycle) and adds, for every saved dataset whose catalog
entry carries ``metadata: mlflow: <what>``::

    metrics       a JSON report: every number as a metric named <dataset>.<path.in.report>;
                  lists of dicts (training histories) as metric histories by "step" (else by
                  position); the report itself as an artifact
    artifact      the data as an artifact: JSON, text (Markdown, CSV, HTML) or a matplotlib figure
    training_log  a model: its ``training_log`` (loss curves, timings) as metrics and artifact

Nothing of MLflow is imported, and no store is opened, until a tracked pipeline starts: notebooks
and the demo, which create sessions without running pipelines, never touch the store. A Kedro
environment whose ``mlflow.yml`` lists ``"*"`` in ``tracking.disable_tracking.pipelines``
(conf/test) tracks nothing at all. The runtime parameter ``mlflow_tracking`` overrides the
environment for one run: ``kedro run --env test --params mlflow_tracking=true`` (or ``=false``).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

#: In ``tracking.disable_tracking.pipelines``: no run of this environment is tracked.
ALL_PIPELINES = "*"
#: Runtime parameter turning tracking on or off for one run, whatever the environment says.
SWITCH_PARAM = "mlflow_tracking"
#: kedro-mlflow's `kedro.hooks` entry point (see MlflowTracking.__init__).
KEDRO_MLFLOW_ENTRY_POINT = "mlflow_hook"
#: The metadata key of a catalog entry that asks for tracking, and what it may ask.
METADATA_KEY = "mlflow"
KINDS = frozenset({"metrics", "artifact", "training_log"})
#: MLflow accepts these characters in metric names.
_NAME_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. :/]")
_BATCH = 1000  # metrics per MLflow log_batch call


def metric_name(*parts: object) -> str:
    """An MLflow-safe metric name from its parts (``+`` in ``3+`` becomes ``_``)."""
    return _NAME_UNSAFE.sub("_", ".".join(str(p) for p in parts if str(p)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _is_history(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def flatten_metrics(data: Any, prefix: str) -> Iterator[tuple[str, float, int]]:
    """``(name, value, step)`` for every number in ``data``: nested keys join with dots; a list
    of dicts is a history (one metric per key, stepped by its "step" entry, else its position);
    other lists are indexed."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from flatten_metrics(value, metric_name(prefix, key))
    elif _is_history(data):
        for position, entry in enumerate(data):
            step = entry.get("step", position)
            step = int(step) if _number(step) is not None else position
            for key, value in entry.items():
                number = _number(value)
                if key != "step" and number is not None:
                    yield metric_name(prefix, key), number, step
    elif isinstance(data, list):
        for position, value in enumerate(data):
            yield from flatten_metrics(value, metric_name(prefix, position))
    else:
        number = _number(data)
        if number is not None:
            yield prefix, number, 0


def _artifact(data: Any, name: str, filepath: str | None) -> None:
    import mlflow

    if hasattr(data, "savefig"):  # a matplotlib figure
        mlflow.log_figure(data, f"{name}.png")
    elif isinstance(data, Mapping | list):
        mlflow.log_dict(data, f"{name}.json")
    elif isinstance(data, str):
        suffix = filepath.rsplit(".", 1)[-1] if filepath and "." in filepath else "txt"
        mlflow.log_text(data, f"{name}.{suffix}")
    else:
        logger.warning("Not tracked: %s is a %s, not JSON, text or a figure", name, type(data))


def _metrics(data: Any, name: str) -> int:
    import mlflow
    from mlflow.entities import Metric

    run = mlflow.active_run()
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, step) for key, value, step in flatten_metrics(data, name)]
    client = mlflow.MlflowClient()
    for start in range(0, len(metrics), _BATCH):
        client.log_batch(run.info.run_id, metrics=metrics[start : start + _BATCH])
    return len(metrics)


def track_dataset(kind: str, name: str, data: Any, *, filepath: str | None = None) -> None:
    """Log ``data`` saved as dataset ``name`` to the active MLflow run, as ``kind`` asks."""
    if kind == "metrics":
        count = _metrics(data, name)
        _artifact(data, name, filepath)
        logger.info("Tracked %d metrics of %s", count, name)
    elif kind == "artifact":
        _artifact(data, name, filepath)
    elif kind == "training_log":
        log = getattr(data, "training_log", None)
        if not isinstance(log, Mapping):
            logger.warning("Not tracked: %s has no training_log", name)
            return
        # the history is stepped by the trainer's global step; settings stay parameters
        log = {key: value for key, value in log.items() if key != "settings"}
        count = _metrics(log, f"{name}.training_log")
        _artifact(json.loads(json.dumps(log, default=str)), f"{name}.training_log", None)
        logger.info("Tracked %d training metrics of %s", count, name)
    else:
        raise ValueError(f"metadata {METADATA_KEY}: {kind!r} is not one of {sorted(KINDS)}")


def tracking_disabled(mlflow_conf: Mapping[str, Any]) -> bool:
    """Whether an environment's mlflow.yml turns tracking off for every run."""
    disabled = ((mlflow_conf.get("tracking") or {}).get("disable_tracking") or {}).get(
        "pipelines"
    ) or []
    return ALL_PIPELINES in disabled


def tracking_enabled(mlflow_conf: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether a run is tracked: the ``mlflow_tracking`` runtime parameter when given, else the
    environment's mlflow.yml (an environment without one is never tracked)."""
    if not mlflow_conf:
        return False
    switch = params.get(SWITCH_PARAM)
    if switch is None:
        return not tracking_disabled(mlflow_conf)
    if isinstance(switch, str):
        word = switch.strip().lower()
        if word not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            raise ValueError(f"{SWITCH_PARAM} must be true or false, got {switch!r}")
        return word in {"true", "1", "yes", "on"}
    return bool(switch)


class MlflowTracking:
    """Project hook: kedro-mlflow's tracking, opened when a tracked pipeline starts, plus the
    catalog's ``metadata: mlflow:`` datasets (see the module's documentation)."""

    def __init__(self) -> None:
        # Registered under the name of kedro-mlflow's entry point, this hook takes its place:
        # pluggy loads no entry point whose name is taken, so `kedro run` does not even import
        # MLflow (2 s) unless a tracked pipeline starts.
        self.__name__ = KEDRO_MLFLOW_ENTRY_POINT
        self._context: Any = None
        self._catalog_args: dict[str, Any] | None = None
        self._catalog: Any = None
        self._enabled = False
        self._mlflow_hook: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        from kedro.config import MissingConfigException

        self._context, self._mlflow_hook = context, None
        loader = context.config_loader
        if "mlflow" not in loader.config_patterns:
            loader.config_patterns.update({"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]})
        try:
            conf = loader["mlflow"]
        except MissingConfigException:
            conf = {}
        self._enabled = tracking_enabled(conf, context.params)
        if conf:
            from omegaconf import OmegaConf

            # what `kedro mlflow ui` reads (server.mlflow_tracking_uri, ui.host, ui.port) until
            # kedro-mlflow puts its validated configuration there when a tracked run starts
            context.__setattr__("mlflow", OmegaConf.create(conf))

    @hook_impl
    def after_catalog_created(
        self,
        catalog: Any,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        self._catalog = catalog
        self._catalog_args = {
            "catalog": catalog,
            "conf_catalog": conf_catalog,
            "conf_creds": conf_creds,
            "parameters": parameters,
            "save_version": save_version,
            "load_versions": load_versions,
        }

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not self._enabled or self._context is None:
            return
        from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

        hook = MlflowHook()
        hook.after_context_created(context=self._context)  # opens the store, sets the experiment
        if self._catalog_args is not None:
            hook.after_catalog_created(**self._catalog_args)
        hook.before_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)
        self._catalog = catalog
        self._mlflow_hook = hook

    @hook_impl
    def before_node_run(
        self, node: Any, catalog: Any, inputs: dict[str, Any], is_async: bool
    ) -> None:
        if self._mlflow_hook is not None:
            self._mlflow_hook.before_node_run(
                node=node, catalog=catalog, inputs=inputs, is_async=is_async
            )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if self._mlflow_hook is None or self._mlflow_hook.run_id is None:
            return  # not tracked: disabled, or this pipeline is in disable_tracking.pipelines
        dataset = self._catalog.get(dataset_name) if self._catalog is not None else None
        kind = ((getattr(dataset, "metadata", None) or {}).get(METADATA_KEY)) if dataset else None
        if kind is None:
            return
        if kind not in KINDS:
            raise ValueError(
                f"{dataset_name}: metadata {METADATA_KEY}: {kind!r} is not one of {sorted(KINDS)}"
            )
        filepath = getattr(dataset, "_filepath", None)  # the suffix of a text artifact
        try:
            track_dataset(kind, dataset_name, data, filepath=str(filepath) if filepath else None)
        except Exception:  # noqa: BLE001 - tracking must never fail a run
            logger.exception("Could not track %s in MLflow", dataset_name)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._mlflow_hook is not None:
            self._mlflow_hook.after_pipeline_run(
                run_params=run_params, pipeline=pipeline, catalog=catalog
            )
            self._mlflow_hook = None

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        if self._mlflow_hook is not None:
            self._mlflow_hook.on_pipeline_error(
                error=error, run_params=run_params, pipeline=pipeline, catalog=catalog
            )
            self._mlflow_hook = None
