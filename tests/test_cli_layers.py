"""The command line starts at once, reads one list of names, and speaks flags; the API does not."""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from symgrad.cli import COMMANDS as CLI_COMMANDS
from symgrad.cli import build_parser, main, options, terminal_columns
from symgrad.core import names
from symgrad.core.derive import derive, derive_expr, derive_graph
from symgrad.core.errors import OptionError, SymgradError
from symgrad.core.graph import expression_graph, forward_backward
from symgrad.core.parse import parse

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sympy", "numpy", "matplotlib")
COMMANDS = ("derive", "check", "graph", "train", "gradcheck", "plot", "worksheet")
FLAG = re.compile(r"(?<![-<])--[a-z]")  # a command-line flag (not the arrow "<--")

# What symgrad imports, not what the interpreter's start-up had already imported (an editable
# install's finder imports importlib from site, before any symgrad code runs).
PROBE = """
import sys
before = set(sys.modules)
from symgrad.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
new = set(sys.modules) - before
print("imported:" + ",".join(m for m in {heavy!r} if m in new), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], *([c, "--help"] for c in COMMANDS)], ids=" ".join
)
def test_help_and_version_import_no_sympy_numpy_or_matplotlib(argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=False,
    )
    assert proc.stdout.strip(), proc.stderr  # the help (or version) was printed
    assert proc.stderr.strip().splitlines()[-1] == "imported:", proc.stderr


def test_the_probe_can_see_a_heavy_import():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "derive", "mse", "--wrt", "b"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=False,
    )
    assert "sympy" in proc.stderr.strip().splitlines()[-1]


SUBCOMMANDS = tuple(f"symgrad.cli.{c}" for c in COMMANDS)
#: What the start-up path must not import: the subcommands not chosen, modules only annotations or
#: the lazy API need, shared libraries: shutil (argparse's way to the terminal width; it loads
#: zlib, bz2, lzma) and math.
LIGHT = (*SUBCOMMANDS, "typing", "importlib", "collections.abc", "shutil", "math")


def imported(argv: list[str]) -> set[str]:
    """Which of LIGHT a fresh ``symgrad ARGV`` imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=LIGHT), *argv],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=False,
    )
    assert proc.stdout.strip(), proc.stderr
    return set(proc.stderr.strip().splitlines()[-1].removeprefix("imported:").split(",")) - {""}


@pytest.mark.parametrize("argv", [["--help"], ["--version"]], ids=" ".join)
def test_top_level_help_imports_no_subcommand_module_and_no_typing(argv):
    assert imported(argv) == set()


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "train"])
def test_a_subcommands_help_imports_that_subcommand_only(command):
    assert imported([command, "--help"]) == {f"symgrad.cli.{command}"}


def test_train_help_imports_train_only():  # and typing: its NetworkRun is a NamedTuple
    got = imported(["train", "--help"])
    assert "symgrad.cli.train" in got and got <= {"symgrad.cli.train", "typing", "collections.abc"}


def help_text(parser, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    return capsys.readouterr().out


def test_building_a_subcommand_on_use_changes_no_listing(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # each summary on one line
    parser = build_parser()
    listing = help_text(parser, ["--help"], capsys)
    for name, summary, _ in CLI_COMMANDS:
        assert f"    {name}" in listing and f"{summary}\n" in listing
    for command in COMMANDS:  # each built in its place, on the parser that listed it
        assert help_text(parser, [command, "--help"], capsys).startswith(
            f"usage: symgrad {command} [-h]")
    assert help_text(parser, ["--help"], capsys) == listing
    with pytest.raises(SystemExit):
        parser.parse_args(["nope"])
    choices = ", ".join(repr(c) for c in COMMANDS)
    assert f"invalid choice: 'nope' (choose from {choices})" in capsys.readouterr().err


def test_a_subcommand_is_built_once_and_parses_as_before():
    parser = build_parser()
    first = parser.parse_args(["derive", "mse", "--wrt", "b"])
    again = parser.parse_args(["derive", "bce", "--model", "logistic"])
    assert (first.loss, first.wrt, again.loss, again.model) == ("mse", ["b"], "bce", "logistic")
    assert first.run is again.run


def test_the_command_table_names_one_module_per_subcommand():
    assert [name for name, _, _ in CLI_COMMANDS] == list(COMMANDS)
    assert [module for _, _, module in CLI_COMMANDS] == list(SUBCOMMANDS)
    assert {p.stem for p in (ROOT / "symgrad" / "cli").glob("*.py")} == {
        *COMMANDS, "__init__", "__main__", "options", "layout", "parser", "progress"}


@pytest.mark.parametrize("columns", ["60", "0", "wide"])
def test_help_is_as_wide_as_argparse_makes_it(columns, monkeypatch):
    import shutil

    monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
    mine, argparses = build_parser(), build_parser()
    argparses._get_formatter = lambda: argparse.HelpFormatter(prog="symgrad")
    assert mine.format_help() == argparses.format_help()


def test_argparse_choices_come_from_the_names_module(capsys):
    for argv, listed in [
        (["derive", "svm"], names.LOSSES),
        (["check", "mse", "--model", "svm", "--wrt", "w", "--answer", "1"], names.MODELS),
        (["gradcheck", "--loss", "svm"], names.FIT_LOSSES),
    ]:
        with pytest.raises(SystemExit):
            main(argv)
        err = capsys.readouterr().err
        assert all(repr(n) in err for n in listed), err


def test_gradcheck_imports_no_private_names():
    for path in (ROOT / "symgrad" / "cli").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{path.name} imports {private} from {node.module}"


# --- the API's words, the command line's flags ---------------------------------------------------


def api_error(call) -> SymgradError:
    with pytest.raises(SymgradError) as caught:
        call()
    return caught.value


def test_library_errors_name_api_options_not_flags():
    a, b = sp.symbols("a b", real=True)
    graph = expression_graph(parse("a*b"))
    errors = [
        api_error(lambda: forward_backward(graph, {"a": 1})),
        api_error(lambda: derive("bce", "linear")),
        api_error(lambda: derive("cross_entropy", "logistic")),
    ]
    from symgrad.teaching.check import check_answer
    from symgrad.teaching.plots import make_problem

    errors.append(api_error(lambda: check_answer("2*x", expr="x^2", wrt="x", per_sample=True)))
    errors.append(api_error(lambda: make_problem("bce")))
    for err in errors:
        assert not FLAG.search(str(err)), str(err)
        assert err.option is not None
    assert str(errors[0]) == "no value given for b (give it in the point)"
    assert errors[0].option == "point"


def test_training_hint_names_the_keyword_and_the_cli_prints_the_flag(capsys):
    from symgrad.models.fit import fit

    raw = fit("mse", "linear", lr=0.001, max_iter=50)
    assert "standardize=True" in raw.hint and not FLAG.search(raw.hint)
    assert main(["train", "--max-iter", "50", "--format", "json"]) == 1  # diverges: exit 1
    hint = json.loads(capsys.readouterr().out)["hint"]
    assert "--standardize" in hint and "standardize=True" not in hint


def test_cli_translates_the_option_to_its_flag(capsys):
    assert main(["derive", "--expr", "a*b", "--at", "a=1"]) == 2
    assert capsys.readouterr().err == "symgrad: error: no value given for b (give it in --at)\n"
    assert main(["check", "mse", "--wrt", "w", "--answer", "2*u*x_i"]) == 1
    out = capsys.readouterr().out
    assert "--per-sample" in out and "per_sample=True" not in out
    assert main(["check", "--expr", "x^2", "--wrt", "x", "--per-sample", "--answer", "2*x"]) == 2
    assert "--per-sample applies to catalogue losses" in capsys.readouterr().err


def test_message_leaves_errors_without_an_option_alone():
    assert options.message(OptionError("the point is far")) == "the point is far"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "--lr", "0"], "--lr must be a number > 0, got '0'"),
        (["train", "--seed", "-1"], "--seed must be a whole number >= 0, got '-1'"),
        (["gradcheck", "--tol", "x"], "--tol must be a number >= 0, got 'x'"),
        (["gradcheck", "--l2", "-1"], "--l2 must be a number > 0, got '-1'"),
        (["derive", "mse", "--features", "0"], "--features must be a whole number >= 1"),
        (["plot", "slope", "--dpi", "0", "--out", "x.png"], "--dpi must be a whole number >= 1"),
        (["worksheet", "--all", "--out", "o", "--variants", "0"], "--variants must be a whole"),
    ],
)
def test_bad_option_values_are_one_line_naming_the_flag(capsys, argv, needle):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and needle in captured.err and captured.err.count("\n") == 1


# --- one convention: parameters by name ----------------------------------------------------------


def test_wrt_and_point_take_names_or_symbols():
    graph = expression_graph(parse("3*(a + b*c)"))
    a, b, c = graph.params
    by_name, by_symbol = derive_graph(graph, wrt=["a", "c"]), derive_graph(graph, wrt=[a, c])
    assert list(by_name.gradients) == list(by_symbol.gradients) == ["a", "c"]
    for name, sym in (("a", a), ("c", c)):
        expected = sp.diff(3 * (a + b * c), sym)
        assert sp.simplify(by_name.gradients[name].expanded.doit() - expected) == 0
    named = forward_backward(graph, {"a": 1, "b": 2, "c": 3})
    symbols = forward_backward(graph, {a: 1, b: 2, c: 3})
    assert named.grad == symbols.grad and named.grad[b] == 9  # 3c
    assert list(derive("mse", "linear", wrt=[sp.Symbol("b")]).gradients) == ["b"]
    assert list(derive_expr("a*b", wrt=[sp.Symbol("a")]).gradients) == ["a"]
    with pytest.raises(OptionError, match="unknown parameter 'z'"):
        derive_graph(graph, wrt=["z"])


def test_the_top_level_help_is_argparses_at_every_width(monkeypatch):
    from symgrad.cli import top_help

    for width in range(60, 201):
        monkeypatch.setenv("COLUMNS", str(width + 2))  # argparse's width is the terminal's - 2
        assert top_help(width) == build_parser().format_help(), width
    assert top_help(59) is None  # narrower: argparse wraps the usage line, and prints it


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"]], ids=" ".join)
def test_help_and_version_print_without_argparse(argv):
    assert "argparse" not in imported_of(argv, ("argparse",))


def imported_of(argv: list[str], names: tuple[str, ...]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=names), *argv],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=False,
    )
    assert proc.stdout.strip() and proc.returncode == 0, proc.stderr
    return set(proc.stderr.strip().splitlines()[-1].removeprefix("imported:").split(",")) - {""}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_examples_one_command_a_line(command, capsys, monkeypatch):
    """A long example ends its line with a backslash and goes on below; the epilogs wrote '\\'
    in a Python string, which joined the two lines into one of 150 characters with a run of
    spaces in it. gradcheck had no examples."""
    monkeypatch.setenv("COLUMNS", "100")
    text = help_text(build_parser(), [command, "--help"], capsys)
    examples = text.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(line.startswith("  ") for line in examples)
    assert all(len(line) <= 110 and not re.search(r"\S {6,}--", line) for line in examples)
    for k, line in enumerate(examples):
        if line.endswith("\\"):
            assert re.match(r" {6,}--", examples[k + 1])


@pytest.mark.parametrize("command", [name for name, _, _ in CLI_COMMANDS])
def test_every_subcommand_wraps_its_prose_to_the_terminal(command, capsys, monkeypatch):
    """The description and the epilog's prose fit an 80-column terminal (check's description
    was one line of 250 characters); the examples stay one command a line, as written."""
    monkeypatch.setenv("COLUMNS", "80")
    text = help_text(build_parser(), [command, "--help"], capsys)
    paragraphs = text.split("\n\n")
    prose = [p for p in paragraphs[1:] if not any(line.startswith(" ") for line in
                                                  p.splitlines()[1:] or [" "])]
    assert prose, text
    for paragraph in prose:
        assert all(len(line) <= 78 for line in paragraph.splitlines()), paragraph
