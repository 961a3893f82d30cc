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
from symgrad.teaching.worksheets.spec import ExerciseSpec, Spec, SpecError, exact

__all__ = ["load_spec"]


def _text(doc: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in doc:
        if default is None:
            raise SpecError(f"{where}: missing field {key!r}")
        return default
    if not isinstance(doc[key], str) or not doc[key].strip():
        raise SpecError(f"{where}: field {key!r} must be a non-empty string")
    return doc[key].strip()


def _whole(doc: dict[str, Any], key: str, where: str, default: int, low: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SpecError(f"{where}: field {key!r} must be a whole number >= {low}, got {value!r}")
    return value


_TOP = {"title", "course", "instructions", "seed", "variants", "exercise"}


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec; every problem is a one-line :class:`SpecError`."""
    path = Path(path)
    shown = str(path)
    try:
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
    unknown = set(doc) - _TOP
    if unknown:
        raise SpecError(f"{shown}: unknown field {sorted(unknown)[0]!r} (expected one of: "
                        f"{', '.join(sorted(_TOP))})")
    spec = Spec(
        path=path,
        name=path.stem,
        title=_text(doc, "title", shown),
        course=_text(doc, "course", shown, ""),
        instructions=_text(doc, "instructions", shown, ""),
        seed=_whole(doc, "seed", shown, 1, 0),
        variants=_whole(doc, "variants", shown, 1, 1),
    )
    exercises = doc.get("exercise")
    if not isinstance(exercises, list) or not exercises:
        raise SpecError(f"{shown}: missing field 'exercise' (at least one [[exercise]] table)")
    for number, ex in enumerate(exercises, start=1):
        where = f"{shown}: exercise {number}"
        if "kind" not in ex:
            raise SpecError(f"{where}: missing field 'kind' (one of: {', '.join(KINDS)})")
        kind = ex["kind"]
        if kind not in KINDS:
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
        fields = {k: v for k, v in ex.items() if k not in ("kind", "points", "title")}
        es = ExerciseSpec(number, kind, points, title, fields, where)
        KINDS[kind].validate(es)
        figures.check(es, path.parent)
        spec.exercises.append(es)
    return spec
