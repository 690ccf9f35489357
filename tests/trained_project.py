"""One `kedro run --env test` of the default pipeline, shared by the tests of the users' surfaces
(web demo, notebooks, experiment tracking): every model and report of the project, tiny, with
MLflow tracking on (into ``<data_root>/mlruns.db``; conf/test leaves other runs untracked).

Import the fixture into a conftest (``from tests.trained_project import trained_data_root``).
Under pytest-xdist the workers share one run: the first to ask makes it under a file lock, the
others wait and reuse it (the recipe of pytest-xdist's documentation).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).with_name("kedro"))
DONE = ".run-complete"


def run_default_pipeline(data_root: Path) -> None:
    """`kedro run --env test`, tracked, into ``data_root`` (about 45 s on two CPU cores)."""
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    result = subprocess.run(
        [
            KEDRO,
            "run",
            "--env",
            "test",
            "--params",
            f"data_root={data_root},mlflow_tracking=true",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (data_root / DONE).write_text("ok\n")


@pytest.fixture(scope="session")
def trained_data_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The ``data_root`` of a finished `kedro run --env test` (default pipeline)."""
    if worker_id == "master":  # not distributed: this session's own run
        data_root = tmp_path_factory.mktemp("trained_project")
        run_default_pipeline(data_root)
        return data_root
    shared = tmp_path_factory.getbasetemp().parent  # common to the workers of this run
    data_root = shared / "trained_project"
    with FileLock(str(shared / "trained_project.lock")):
        if not (data_root / DONE).is_file():
            data_root.mkdir(exist_ok=True)
            run_default_pipeline(data_root)
    return data_root
