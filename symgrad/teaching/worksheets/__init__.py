"""Worksheets: exercise and solution sheets from TOML specs, in seeded variants, with answer keys.

>>> spec = load_spec(bundled_dir() / "activations.toml")
>>> v = generate(spec, seed=7)
>>> v.seed, v.exercises[0].kind
(7, 'activation')

See ``worksheets/README.md`` for the spec format; :mod:`.kinds` for the exercise kinds.
"""

from __future__ import annotations

from symgrad.teaching.worksheets.build import (
           FORMATS,
           build,
           bundled_dir,
           bundled_specs,
           generate,
)
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.load import load_spec
from symgrad.teaching.worksheets.model import (
           Answer,
           Exercise,
           Figure,
           Math,
           Space,
           Steps,
           Table,
           Text,
           Variant,
)
from symgrad.teaching.worksheets.spec import Spec, SpecError

__all__ = ["Answer", "Degenerate", "Exercise", "FORMATS", "Field", "Figure", "KINDS", "Kind",
           "Math",
           "Space", "Spec", "SpecError", "Steps", "Table", "Text", "Variant", "build",
           "bundled_dir", "bundled_specs", "generate", "load_spec", "register"]
