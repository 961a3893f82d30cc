"""Reading a worksheet spec: TOML parsed with :mod:`tomllib`, every exercise validated by its
kind (:mod:`symgrad.teaching.worksheets.kinds`) and its figures
(:mod:`symgrad.teaching.worksheets.figures`) before anything is built; the records themselves are
in :mod:`symgrad.teaching.worksheets.spec`.

>>> from symgrad.teaching.worksheets import bundled_dir
>>> [es.kind for es in load_spec(bundled_dir() / "activations.toml").exercises][:1]
['activation']
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from symgrad.teaching.worksheets import figures
from symgrad.teaching.worksheets.kinds import KINDS
from symgrad.teaching.worksheets.spec import (
    LIMITS,
    MAX_SEED,
    SHOWN,
    ExerciseSpec,
    Spec,
    SpecError,
    check_name,
    check_prose,
    check_strings,
    exact,
    nesting_depth,
)

__all__ = ["load_spec"]


def _text(doc: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in doc:
        if default is None:
            raise SpecError(f"{where}: missing field {key!r}")
        return default
    if not isinstance(doc[key], str) or not doc[key].strip():
        raise SpecError(f"{where}: field {key!r} must be a non-empty string")
    lines = key == "instructions"
    return check_prose(doc[key].strip(), f"{where}: field {key!r}",
                       LIMITS["instructions" if lines else "title"], lines)


def _whole(doc: dict[str, Any], key: str, where: str, default: int, low: int, high: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{where}: field {key!r} must be a whole number from {low} to {high}, "
                        f"got {value!r}")
    return value


#: When the ``interactive`` format shows an exercise's solution (the spec's ``reveal``).
REVEAL = ("after_attempt", "after_correct", "always", "never")


def _reveal(doc: dict, shown: str) -> str:
    value = doc.get("reveal", REVEAL[0])
    if value not in REVEAL:
        raise SpecError(f"{shown}: field 'reveal': {str(value)[:40]!r} is not one of: "
                        f"{', '.join(REVEAL)}")
    return value


_TOP = {"title", "course", "instructions", "seed", "variants", "exercise", "reveal"}


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec; every problem is a one-line :class:`SpecError`."""
    path = Path(path)
    shown = str(path).translate(SHOWN)
    name = check_name(path.stem, f"{shown}: worksheet spec")
    try:
        if path.stat().st_size > LIMITS["bytes"]:
            raise SpecError(f"{shown}: too large ({path.stat().st_size} bytes; a spec has at most "
                            f"{LIMITS['bytes']})")
        raw = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{shown}: no such worksheet spec") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"{shown}: cannot read: {err}") from None
    try:
        doc = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            msg = msg[: m.start()].strip()
            raise SpecError(f"{shown}: line {m.group(1)}, column {m.group(2)}: TOML syntax error: "
                            f"{msg}") from None
        raise SpecError(f"{shown}: TOML syntax error: {msg}") from None
    except RecursionError:
        raise SpecError(f"{shown}: values nest too deeply (at most {LIMITS['depth']} levels of "
                        "tables and arrays)") from None
    if nesting_depth(doc) > LIMITS["depth"]:
        raise SpecError(f"{shown}: values nest too deeply (at most {LIMITS['depth']} levels of "
                        "tables and arrays)")
    unknown = set(doc) - _TOP
    if unknown:
        raise SpecError(f"{shown}: unknown field {sorted(unknown)[0]!r} (expected one of: "
                        f"{', '.join(sorted(_TOP))})")
    spec = Spec(
        path=path,
        name=name,
        title=_text(doc, "title", shown),
        course=_text(doc, "course", shown, ""),
        instructions=_text(doc, "instructions", shown, ""),
        seed=_whole(doc, "seed", shown, 1, 0, MAX_SEED),
        variants=_whole(doc, "variants", shown, 1, 1, LIMITS["variants"]),
        reveal=_reveal(doc, shown),
    )
    exercises = doc.get("exercise")
    if not isinstance(exercises, list) or not exercises:
        raise SpecError(f"{shown}: missing field 'exercise' (at least one [[exercise]] table)")
    if len(exercises) > LIMITS["exercises"]:
        raise SpecError(f"{shown}: {len(exercises)} exercises; a spec has at most "
                        f"{LIMITS['exercises']}")
    for number, ex in enumerate(exercises, start=1):
        where = f"{shown}: exercise {number}"
        if not isinstance(ex, dict):
            raise SpecError(f"{where}: expected a table ([[exercise]]), got {ex!r}"[:200])
        if "kind" not in ex:
            raise SpecError(f"{where}: missing field 'kind' (one of: {', '.join(KINDS)})")
        kind = ex["kind"]
        if not isinstance(kind, str) or kind not in KINDS:
            raise SpecError(f"{where}: field 'kind': unknown kind {kind!r}; choose one of: "
                            f"{', '.join(KINDS)}")
        where = f"{where} ({kind})"
        if "points" not in ex:
            raise SpecError(f"{where}: missing field 'points'")
        points = exact(ex["points"], f"{where}, field 'points'")
        if points <= 0:
            raise SpecError(f"{where}, field 'points': must be positive, got {ex['points']}")
        title = ex.get("title", "")
        if not isinstance(title, str):
            raise SpecError(f"{where}, field 'title': must be a string")
        check_prose(title, f"{where}, field 'title'", LIMITS["title"])
        fields = {k: v for k, v in ex.items() if k not in ("kind", "points", "title")}
        check_strings(fields, where)
        es = ExerciseSpec(number, kind, points, title, fields, where)
        KINDS[kind].validate(es)
        figures.check(es, path.parent)
        spec.exercises.append(es)
    return spec
