"""The README stays true: its two set-up commands, what CI runs, and the tour's output."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from symgrad.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _setup_commands() -> list[str]:
    block = README.split("## Set-up: two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_exactly_two_setup_commands_and_ci_runs_the_second():
    install_and_run, test = _setup_commands()
    assert "pip install" in install_and_run and "symgrad worksheet --all" in install_and_run
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in [line.strip() for line in ci.splitlines()]


def _tour_blocks() -> list[tuple[list[str], list[str]]]:
    """(argv, shown output lines) for every `$ symgrad ...` in the README's console blocks."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            first, *rest = chunk.splitlines()
            argv = re.findall(r'"[^"]*"|\S+', first.split("#")[0])
            out.append(([a.strip('"') for a in argv[1:]], rest))
    return out


@pytest.mark.parametrize("argv,shown", _tour_blocks(), ids=lambda v: " ".join(v)[:60])
def test_tour_output_is_real(capsys, tmp_path, monkeypatch, argv, shown):
    monkeypatch.chdir(tmp_path)
    with contextlib.suppress(SystemExit):  # argparse exits on its own errors
        main(argv)
    out, err = capsys.readouterr()
    printed = {line.rstrip() for line in (out + err).splitlines()}
    for line in shown:
        line = line.rstrip()
        if not line or line.lstrip().startswith("...") or "..." in line or line.startswith("$"):
            continue  # elided in the README
        assert line in printed, f"README shows a line symgrad does not print: {line!r}"
