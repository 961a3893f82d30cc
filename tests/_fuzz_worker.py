"""Worker for tests/test_fuzz.py: reads one JSON job per line, runs it, prints one JSON outcome.

A job is ``{"cmd": [...]}``: the arguments of the ``symgrad`` command. The outcome says how it
ended: ``status`` (the exit status), ``stderr`` (what the command printed as an error) and
``crash`` (a traceback, if the command raised anything but SystemExit). Run in its own process so
that the test can stop a job that exceeds its time budget.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback

from symgrad.cli import main


def run(cmd: list[str]) -> dict[str, object]:
    out, err = io.StringIO(), io.StringIO()
    crash = None
    status: object = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(cmd)
        except SystemExit as e:
            status = e.code
        except BaseException:  # noqa: BLE001 - anything else is the bug the fuzz test looks for
            crash = traceback.format_exc()
    return {"status": status, "stderr": err.getvalue(), "stdout": out.getvalue(),
            "crash": crash}


if __name__ == "__main__":
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        print(json.dumps(run(job["cmd"])), flush=True)
