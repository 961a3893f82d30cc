"""``python -m symgrad``: the ``symgrad`` command."""

import sys

from symgrad.cli import main

sys.exit(main())
