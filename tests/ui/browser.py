"""Helpers of the browser tests: the system Chromium, a static file server, screenshots."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Screenshots for the README (docs/surfaces.md) are written here by the tests, but only when
#: UPDATE_DOCS_IMG is set to 1: a plain test run leaves the tracked pictures alone.
DOCS_IMG = PROJECT_ROOT / "docs" / "img"
UPDATE_DOCS_IMG = "BIOIE_UPDATE_DOCS_IMG"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The system Chromium: $BIOIE_CHROMIUM, else the first of the usual names on PATH."""
    explicit = os.environ.get("BIOIE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_directory(directory: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a daemon thread; returns the URL and
    the server (``server.shutdown()`` stops it)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def docs_img(name: str) -> list[Path]:
    """``[docs/img/<name>]`` when ``$BIOIE_UPDATE_DOCS_IMG`` is 1, else no path."""
    return [DOCS_IMG / name] if os.environ.get(UPDATE_DOCS_IMG) == "1" else []


def save_screenshot(png: bytes, *paths: Path) -> None:
    """Write one screenshot to several places (the run's reporting folder, docs/img)."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
