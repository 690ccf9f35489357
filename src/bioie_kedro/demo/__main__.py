"""Serve the web demo over the project's catalog.

    python -m bioie_kedro.demo [--port 7860] [--host 127.0.0.1] [--env ENV]
                               [--params data_root=/elsewhere,...] [--project-path .]

Models are those the project's pipelines trained (``kedro run``), loaded from the catalog of
``--env`` with the runtime ``--params`` of the run that made them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any


def _runtime_params(text: str | None) -> dict[str, Any]:
    """``key=value,key=value`` (as ``kedro run --params``) into a dict."""
    params: dict[str, Any] = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"--params expects key=value pairs, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bioie_kedro.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    parser.add_argument("--env", default=None, help="Kedro environment (default: local + base)")
    parser.add_argument(
        "--params", type=_runtime_params, default={}, help="runtime parameters, as kedro run"
    )
    parser.add_argument("--project-path", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)

    import uvicorn

    from bioie_kedro.demo.app import create_app
    from bioie_kedro.demo.service import DemoService

    logging.basicConfig(level=logging.INFO)
    service = DemoService.from_project(
        str(args.project_path.resolve()), env=args.env, runtime_params=args.params
    )
    print(f"bioie-kedro demo on http://{args.host}:{args.port}/", flush=True)  # noqa: T201
    uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
