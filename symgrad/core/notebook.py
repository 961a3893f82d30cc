"""How every result object shows in Jupyter: a small left-aligned block at body-text size with
its title as a heading (a notebook's own CSS centres tables and right-aligns cells, so the styles
are inline). In the core so that every layer's results (Derivation, TrainResult, FitResult,
Network, CheckResult) use the one block.

>>> out = block("Gradient descent", "<p>done</p>")
>>> out.startswith('<div class="symgrad" style="text-align:left') and "<strong>Gradient" in out
True
>>> "&lt;" in preformatted("a < b", "x < y")
True
"""

from __future__ import annotations

import html

STYLE = "text-align:left;font-size:1em;line-height:1.4;margin:0.3em 0"
"""The block's inline style: left-aligned, at the notebook's body-text size."""


def block(title: str, body: str) -> str:
    """``body`` (HTML) under ``title`` (text, escaped) in the notebook block."""
    head = (f'<p style="margin:0 0 0.4em 0;font-size:1.1em"><strong>{html.escape(title)}'
            "</strong></p>" if title else "")
    return f'<div class="symgrad" style="{STYLE}">{head}{body}</div>'


def preformatted(title: str, text: str) -> str:
    """A plain-text report (a table in columns) under ``title``, in monospace at body size."""
    pre = ('<pre style="text-align:left;font-size:0.95em;margin:0;background:none;padding:0">'
           f"{html.escape(text)}</pre>")
    return block(title, pre)
