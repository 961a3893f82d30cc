"""``symgrad worksheet``: exercise and solution sheets from a TOML spec, in seeded variants."""

from __future__ import annotations

import argparse
import sys

from symgrad.cli.options import names, whole
from symgrad.core.errors import OptionError
from symgrad.core.names import WORKSHEET_FORMATS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

EXAMPLES = """examples:
  symgrad worksheet --all --out out/
  symgrad worksheet worksheets/gradient_descent.toml --out out/ --variants 5 --seed 100
  symgrad worksheet worksheets/activations.toml --out out/ --formats html,md

Each worksheet goes to OUT/NAME/: seed-S/{exercises,solutions}.{tex,pdf,html,md},
seed-S/answers.json and moodle.xml. Variant k has seed S+k; --seed S+k --variants 1
rebuilds it alone. A build replaces only the seed-S folders it makes and moodle.xml (its
variants): the folders of other seeds are kept, and a note says so.
"""


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "worksheet",
        help=summary,
        description="Build worksheets from TOML specs (see worksheets/README.md): an exercise and "
        "a solution sheet per variant, answers.json, and Moodle XML.",
        epilog=EXAMPLES,
    )
    p.add_argument("spec", nargs="*", help="worksheet spec(s) (.toml), or a bundled name")
    p.add_argument("--all", action="store_true", help="every bundled worksheet")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--variants", type=whole("--variants"), default=None, metavar="N",
                   help="number of variants (default: the spec's, else 1)")
    p.add_argument("--seed", type=whole("--seed", least=0), default=None, metavar="S",
                   help="seed of the first variant (default: the spec's, else 1)")
    p.add_argument("--formats", type=names("--formats"), default=None,
                   metavar="tex,pdf,html,md,moodle",
                   help="formats to write (default: all; pdf only when pdflatex is found)")
    p.set_defaults(run=run)


def _resolve(name: str) -> Path:
    from pathlib import Path

    from symgrad.teaching.worksheets import bundled_dir

    path = Path(name)
    if path.exists() or path.suffix == ".toml":
        return path
    return bundled_dir() / f"{name}.toml"


def run(args: argparse.Namespace) -> int:
    import shutil

    from symgrad.cli.progress import Progress
    from symgrad.teaching.worksheets import build, bundled_specs, load_spec
    from symgrad.teaching.worksheets.build import build_seeds, earlier_seeds

    if args.all and args.spec:
        raise OptionError("give spec files or --all, not both")
    if not args.all and not args.spec:
        raise OptionError("give a worksheet spec (.toml) or --all")
    paths = bundled_specs() if args.all else [_resolve(s) for s in args.spec]
    if args.formats is None:
        formats = list(WORKSHEET_FORMATS)
        if shutil.which("pdflatex") is None:
            formats.remove("pdf")
            print("symgrad: note: pdflatex not found, skipping pdf (install TeX Live for it)",
                  file=sys.stderr)
    else:
        formats = args.formats
    specs = [load_spec(p) for p in paths]  # every spec is checked before anything is built
    plans = [build_seeds(spec, args.variants, args.seed) for spec in specs]
    for spec, seeds in zip(specs, plans, strict=True):
        line = Progress(f"{spec.name:<20}", keep=True)
        try:
            folder = build(spec, args.out, variants=len(seeds), seed=seeds[0], formats=formats,
                           progress=line.count)
        finally:
            line.close()
        print(folder)
        kept = earlier_seeds(folder, seeds)
        if kept:
            these = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
            print(f"symgrad: note: kept {', '.join(kept)} in {folder} from earlier builds "
                  f"(moodle.xml has this build's {these} only)", file=sys.stderr)
    return 0
