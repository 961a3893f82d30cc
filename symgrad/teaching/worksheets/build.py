"""Generation: a spec and a seed make a variant; variants make an output folder, written atomically.

Variant ``k`` of a build with seed ``S`` has seed ``S + k`` and is the same as variant 0 of a build
with seed ``S + k``: every variant is labelled with its seed and reproducible from it alone.
Exercise ``n`` of a variant draws from ``VariantRandom(seed, n)`` (``random.Random(f"{seed}:{n}")``
that spreads evaluation points over the seeds) and draws again (up to :data:`ATTEMPTS` times)
while the draw is degenerate (see :class:`~symgrad.teaching.worksheets.kinds.Degenerate` and
:func:`~symgrad.teaching.worksheets.kinds.check_zeros`).

Output layout of ``build(spec, out)``::

    out/NAME/seed-S/{exercises,solutions}.{tex,pdf,html,md}  and  answers.json
    out/NAME/seed-S/figure-N.{pdf,png}                       (figures: for .tex and .md)
    out/NAME/moodle.xml                                      (every variant)

A build owns ``out/NAME/seed-S`` for its seeds and ``out/NAME/moodle.xml`` (its variants), and
nothing else: the output of other seeds (an earlier ``--seed``) and any other file stay. Everything
is written into a temporary folder ``out/.NAME.tmp-PID-*`` first and moved into place at the end,
so a failed build leaves nothing half-written and keeps the previous good output; the temporary
folders of a killed build (its process is gone) are removed by the next build of ``NAME``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from symgrad.core.errors import OptionError, SymgradError
from symgrad.core.names import WORKSHEET_FORMATS
from symgrad.teaching.worksheets import export, figures
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, check_zeros
from symgrad.teaching.worksheets.load import load_spec
from symgrad.teaching.worksheets.model import Variant
from symgrad.teaching.worksheets.spec import (
    LIMITS,
    MAX_SEED,
    Spec,
    SpecError,
    VariantRandom,
    check_name,
)

FORMATS = WORKSHEET_FORMATS
ATTEMPTS = 200

Progress = Callable[[int, int], object]


def generate(spec: Spec, seed: int) -> Variant:
    """One variant of ``spec``, reproducible from ``seed``.

    >>> from symgrad.teaching.worksheets import load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> [ex.title for ex in v.exercises][:2], v.points
    (['The sigmoid activation and its derivative', 'The tanh activation and its derivative'], 9.0)
    >>> [(a.id, a.text) for a in v.exercises[1].answers][:2]
    [('2.a1', 'a = 0'), ('2.da1', '∂a/∂z = 1 − a² = 1')]
    """
    exercises = []
    for es in spec.exercises:
        rng = VariantRandom(seed, es.number)
        for _ in range(ATTEMPTS):
            try:
                ex = KINDS[es.kind].generate(es, rng)
                check_zeros(ex)
            except Degenerate:
                continue
            figures.attach(es, ex)
            exercises.append(ex)
            break
        else:
            raise SpecError(f"{es.where}: no usable draw in {ATTEMPTS} attempts (every draw was "
                            "degenerate, e.g. a zero gradient); widen the ranges")
    return Variant(spec.name, spec.title, spec.course, spec.instructions, seed, exercises,
                   spec.reveal)


def _check_formats(formats: Iterable[str]) -> list[str]:
    """The formats in canonical order; unknown ones are an :class:`OptionError`."""
    formats = list(formats)
    for f in formats:
        if f not in FORMATS:
            raise OptionError(f"unknown format {f!r}; choose from: {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in formats]


def write_variant(v: Variant, folder: Path, formats: list[str]) -> None:
    """The files of one variant into ``folder`` (which exists).

    Figures: ``figure-N.pdf`` next to the ``.tex`` (which includes it), ``figure-N.png`` next to
    the ``.md``; the PDF editions have them compiled in, HTML and Moodle embed the PNG.
    ``formats`` are names from :data:`FORMATS` (``moodle`` is per build, not per variant).

    >>> import tempfile
    >>> from symgrad.teaching.worksheets import load_spec
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.toml").write_text('''title = "Tiny"
    ... [[exercise]]
    ... kind = "activation"
    ... activation = "sigmoid"
    ... z = 0
    ... points = 1
    ... ''')
    >>> write_variant(generate(load_spec(folder / "tiny.toml"), 1), folder, ["md"])
    >>> sorted(p.name for p in folder.iterdir())
    ['answers.json', 'exercises.md', 'solutions.md', 'tiny.toml']
    """
    (folder / "answers.json").write_text(export.to_answers(v), encoding="utf-8")
    for edition in export.EDITIONS:
        shown = export.figures(v, edition)
        tex = export.to_tex(v, edition)
        if "tex" in formats:
            (folder / f"{edition}.tex").write_text(tex, encoding="utf-8")
            for f in shown:
                (folder / f.filename("pdf")).write_bytes(f.data("pdf"))
        if "pdf" in formats:
            files = {f.filename("pdf"): f.data("pdf") for f in shown}
            (folder / f"{edition}.pdf").write_bytes(export.compile_pdf(tex, edition, files))
        if "html" in formats:
            (folder / f"{edition}.html").write_text(export.to_html(v, edition), encoding="utf-8")
        if "md" in formats:
            (folder / f"{edition}.md").write_text(export.to_md(v, edition), encoding="utf-8")
            for f in shown:
                (folder / f.filename("png")).write_bytes(f.data("png"))
    if "interactive" in formats:
        (folder / "interactive.html").write_text(export.to_interactive(v), encoding="utf-8")


class OutputError(SymgradError):
    """The output folder cannot be written (a file is in the way, no permission, disk full)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def clean_stale(out: Path, name: str) -> list[Path]:
    """Remove the temporary folders (``.NAME.tmp-PID-*``, ``.NAME.old-PID-*``) that builds of
    ``name`` left in ``out`` when they were killed: those whose process is gone. Returns them.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> (out / ".tiny.tmp-999999999-x").mkdir(); (out / f".tiny.tmp-{os.getpid()}-y").mkdir()
    >>> [p.name for p in clean_stale(out, "tiny")], sorted(p.name for p in out.iterdir())
    ... # doctest: +ELLIPSIS
    (['.tiny.tmp-999999999-x'], ['.tiny.tmp-...-y'])
    """
    own = re.compile(rf"\.{re.escape(name)}\.(?:tmp|old)-(?:(\d+)-)?.*", re.S)
    stale = []
    for p in sorted(out.iterdir()) if out.is_dir() else []:
        m = own.fullmatch(p.name)
        if m and not p.is_symlink() and p.is_dir() and not (m.group(1) and _alive(int(m.group(1)))):
            shutil.rmtree(p, ignore_errors=True)
            stale.append(p)
    return stale


def _check_target(out: Path, target: Path, seeds: list[int]) -> None:
    """An :class:`OutputError` if a file is where a folder of the build goes (or a link where a
    seed's folder goes: it would be replaced, not followed)."""
    for folder in (out, target):
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"cannot write into {folder}: it is a file, not a folder")
    for folder in (target / f"seed-{s}" for s in seeds):
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise OutputError(f"cannot replace {folder}: it is not a folder symgrad wrote")
    if (target / "moodle.xml").is_dir():
        raise OutputError(f"cannot write {target / 'moodle.xml'}: it is a folder")


def _move_in(tmp: Path, target: Path) -> None:
    """Move what ``tmp`` holds into ``target``, each entry replacing the one of its name."""
    target.mkdir(exist_ok=True)
    for entry in sorted(tmp.iterdir()):
        dest = target / entry.name
        if dest.is_dir():
            old = tmp.parent / f".{target.name}.old-{os.getpid()}-{entry.name}"
            os.replace(dest, old)
            os.replace(entry, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(entry, dest)


def build_seeds(spec: Spec, variants: int | None = None, seed: int | None = None) -> list[int]:
    """The seeds :func:`build` makes: ``variants`` from ``seed`` on (each defaults to the spec's);
    an :class:`OptionError` past the limits.

    >>> from symgrad.teaching.worksheets import load_spec
    >>> build_seeds(load_spec(bundled_dir() / "activations.toml"), seed=100)
    [100, 101]
    """
    n = spec.variants if variants is None else variants
    if not 1 <= n <= LIMITS["variants"]:
        raise OptionError(f"variants must be from 1 to {LIMITS['variants']}, got {n}",
                          option="variants")
    first = spec.seed if seed is None else seed
    if not 0 <= first <= MAX_SEED - n + 1:
        raise OptionError(f"seed must be from 0 to {MAX_SEED - n + 1}, got {first}", option="seed")
    return list(range(first, first + n))


def earlier_seeds(folder: Path, seeds: Iterable[int]) -> list[str]:
    """The ``seed-S`` folders in a build's ``folder`` that are not of ``seeds``: output of
    earlier builds, kept.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for s in (1, 2, 100):
    ...     (folder / f"seed-{s}").mkdir()
    >>> earlier_seeds(folder, [100, 101])
    ['seed-1', 'seed-2']
    """
    built = {f"seed-{s}" for s in seeds}
    found = [p.name for p in folder.glob("seed-*") if p.is_dir() and p.name not in built]
    return sorted(found, key=lambda name: int(name[5:]) if name[5:].isdigit() else -1)


def build(spec: Spec | str | Path, out: str | Path, *, variants: int | None = None,
          seed: int | None = None, formats: Iterable[str] = FORMATS,
          progress: Progress | None = None) -> Path:
    """Build ``variants`` variants of a spec into ``out/NAME``; returns that folder.

    ``spec`` is a :class:`Spec` or the path of its TOML file; ``variants`` (at most
    ``LIMITS["variants"]``) and ``seed`` default to the spec's; ``progress(done, total)`` is called
    after each variant (e.g. a :class:`Bar`). Only ``out/NAME/seed-S`` of the seeds built and
    ``out/NAME/moodle.xml`` are replaced (see the module's docstring).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.toml").write_text('''title = "Tiny"
    ... [[exercise]]
    ... kind = "activation"
    ... activation = "sigmoid"
    ... z = 0
    ... points = 1
    ... ''')
    >>> out = build(folder / "tiny.toml", folder / "out", variants=2, formats=["md", "moodle"])
    >>> for path in sorted(out.rglob("*.*")):
    ...     print(path.relative_to(folder))
    out/tiny/moodle.xml
    out/tiny/seed-1/answers.json
    out/tiny/seed-1/exercises.md
    out/tiny/seed-1/solutions.md
    out/tiny/seed-2/answers.json
    out/tiny/seed-2/exercises.md
    out/tiny/seed-2/solutions.md
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    formats = _check_formats(formats)
    seeds = build_seeds(spec, variants, seed)
    n = len(seeds)
    out = Path(out)
    target = out / check_name(spec.name, "worksheet")
    _check_target(out, target, seeds)
    try:
        out.mkdir(parents=True, exist_ok=True)
        clean_stale(out, spec.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}.tmp-{os.getpid()}-", dir=out))
    except OSError as err:
        raise OutputError(f"cannot write into {out}: {err.strerror or err}") from None
    try:
        built: list[Variant] = []
        for k, s in enumerate(seeds):
            v = generate(spec, s)
            folder = tmp / f"seed-{s}"
            folder.mkdir()
            write_variant(v, folder, formats)
            built.append(v)
            if progress is not None:
                progress(k + 1, n)
        if "moodle" in formats:
            (tmp / "moodle.xml").write_text(export.to_moodle(built, spec.course, spec.title),
                                            encoding="utf-8")
        _move_in(tmp, target)
    except OSError as err:
        raise OutputError(f"cannot write the output of {spec.name} into {out}: "
                          f"{err.strerror or err}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def bundled_dir() -> Path:
    """The folder of the worksheets shipped with symgrad (``worksheets/`` in the source tree,
    package data ``symgrad/worksheets/bundled`` once installed).

    >>> (bundled_dir() / "gradient_descent.toml").is_file()
    True
    """
    return Path(os.fspath(resources.files("symgrad.teaching.worksheets") / "bundled"))


def bundled_specs() -> list[Path]:
    """Every bundled worksheet spec, sorted by name.

    >>> [p.name for p in bundled_specs()][:1]
    ['activations.toml']
    """
    return sorted(bundled_dir().glob("*.toml"))


__all__ = ["ATTEMPTS", "FORMATS", "OutputError", "SymgradError", "build", "bundled_dir",
           "bundled_specs", "build_seeds", "clean_stale", "earlier_seeds", "generate",
           "write_variant"]
