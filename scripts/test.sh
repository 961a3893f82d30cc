#!/usr/bin/env bash
# Install everything the test suite needs and run it: the README's test command, and what CI runs.
#   - Debian packages for the tests that compile LaTeX, read PDFs and render HTML (pdflatex,
#     pdftotext from poppler-utils, chromium),
#     installed with apt-get (as root or with sudo) when any of them is missing;
#   - a fresh virtual environment in .venv-test with symgrad and its [test] and [crosscheck]
#     extras (crosscheck: PyTorch, the optimizers' independent reference);
#   - ruff, the import-linter contracts (.importlinter), then pytest over tests/ and the doctests
#     in symgrad/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(texlive-latex-base texlive-latex-recommended texlive-latex-extra
          texlive-fonts-recommended latexmk chromium poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "scripts/test.sh: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

rm -rf .venv-test
python3 -m venv .venv-test
.venv-test/bin/python -m pip install -q --upgrade pip setuptools wheel
.venv-test/bin/python -m pip install -q -e ".[test,crosscheck]"
.venv-test/bin/python -m ruff check symgrad tests benchmarks
.venv-test/bin/lint-imports  # the layering contracts in .importlinter
# hypothesis replays a fixed sequence here (tests/conftest.py): plain pytest draws new examples
HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" .venv-test/bin/python -m pytest "$@"
