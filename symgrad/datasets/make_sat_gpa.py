"""Generate the synthetic SAT -> first-year GPA data set ``sat_gpa.csv`` (see README.md here).

Run ``python symgrad/datasets/make_sat_gpa.py`` to rewrite ``sat_gpa.csv``; with the fixed seed the
output is the same every time (the tests check that the shipped file matches).

Model, for each of ``N = 100`` students:

* SAT score: drawn from Normal(1050, 200), rounded to a multiple of 10 and clipped to [400, 1600];
* GPA: ``0.8 + 0.002 * SAT + Normal(0, 0.3)``, clipped to [0, 4] and rounded to 2 decimals.

>>> rows = generate(n=3)
>>> len(rows), all(400 <= s <= 1600 and s % 10 == 0 and 0 <= g <= 4 for s, g in rows)
(3, True)
>>> csv_text(rows).splitlines()[0]
'sat,gpa'
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

SEED = 20020332
N = 100
INTERCEPT = 0.8
SLOPE = 0.002
NOISE_SD = 0.3


def generate(n: int = N, seed: int = SEED) -> list[tuple[int, float]]:
    """``n`` rows of (SAT score, GPA) drawn from the model above with the given seed."""
    rng = np.random.default_rng(seed)
    sat = np.clip(np.round(rng.normal(1050.0, 200.0, size=n) / 10.0) * 10.0, 400.0, 1600.0)
    gpa = INTERCEPT + SLOPE * sat + rng.normal(0.0, NOISE_SD, size=n)
    gpa = np.round(np.clip(gpa, 0.0, 4.0), 2)
    return [(int(s), float(g)) for s, g in zip(sat, gpa, strict=True)]


def csv_text(rows: list[tuple[int, float]]) -> str:
    """The CSV file's text: header ``sat,gpa`` then one row per student."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sat", "gpa"])
    for s, g in rows:
        w.writerow([s, f"{g:.2f}"])
    return buf.getvalue()


def main() -> None:
    out = Path(__file__).with_name("sat_gpa.csv")
    out.write_text(csv_text(generate()), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
