"""Test-wide settings, and the headless browser of the page tests.

Hypothesis draws new examples on every run of plain ``pytest`` (that is how z = 11760 was found
in ``test_bounds_and_precision``); ``scripts/test.sh`` (the README's test command, and CI) sets
``HYPOTHESIS_PROFILE=ci``, which replays a fixed sequence, so a red CI is a regression, not the
luck of the draw.
"""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


#: Debian's Chromium (scripts/test.sh installs it), driven by Playwright: its own browsers are not
#: reachable here.
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Playwright's sync API cannot nest, so not one per
    session)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
