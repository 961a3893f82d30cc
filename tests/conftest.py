"""Test-wide settings.

Hypothesis draws new examples on every run of plain ``pytest`` (that is how z = 11760 was found
in ``test_bounds_and_precision``); ``scripts/test.sh`` (the README's test command, and CI) sets
``HYPOTHESIS_PROFILE=ci``, which replays a fixed sequence, so a red CI is a regression, not the
luck of the draw.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
