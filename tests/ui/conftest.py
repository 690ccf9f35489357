"""Browser fixture: Debian's chromium driven by Playwright.

The browser is the system `chromium` (installed by `make test` from Debian packages), never a
download by `playwright install`; without it the browser tests skip with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trained_project import trained_data_root  # noqa: F401 - shared fixture
from tests.ui.browser import chromium_path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium (Playwright); skipped with a reason when either is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no system chromium: `make test` installs it with apt-get (Debian package chromium); "
            "or set BIOIE_CHROMIUM to a Chromium/Chrome binary"
        )
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        chromium = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()
