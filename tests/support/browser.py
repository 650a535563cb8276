"""Headless Chromium for the page tests, driven through WebDriver (selenium) with the
chromedriver of the same Debian packages (``chromium``, ``chromium-driver``), which
``.ci/run`` installs when they are missing.

Without them a browser test is skipped with the reason, except where the run says a
browser is required (``SHARDLINE_REQUIRE_BROWSER=1``, as CI does): there it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
INSTALL = "apt-get install chromium chromium-driver (.ci/run does it)"


def _binaries() -> tuple[str, str] | None:
    browser = next((path for path in map(shutil.which, BROWSERS) if path), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextmanager
def headless_chromium(*arguments: str) -> Iterator[Any]:
    """A WebDriver session of a fresh headless Chromium, with ``arguments`` added to its
    command line; skipped (or failed where a browser is required) when Chromium or its
    driver is missing."""
    binaries = _binaries()
    if binaries is None:
        message = f"no Chromium with chromedriver: {INSTALL}"
        if os.environ.get("SHARDLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binaries[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1000,1200", *arguments):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=binaries[1]))
    try:
        yield driver
    finally:
        driver.quit()


__all__ = ["headless_chromium"]
