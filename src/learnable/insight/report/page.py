"""The page builder of the run report: the HTML pieces every family's page is made of.

A report is one self-contained HTML file: its style inline, every plot a PNG data URI, no script and
nothing loaded from the network. Each family (:mod:`~learnable.insight.report.training`,
:mod:`~learnable.insight.report.rl`, :mod:`~learnable.insight.report.classic`) builds its sections from
these pieces; :func:`document` wraps them in the page. Every text from the record is escaped.

Example:
    >>> section("Settings", table({"lr": 0.001}))
    '<section><h2>Settings</h2><table><tr><th>lr</th><td class=num>0.001</td></tr></table></section>'
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path
from typing import Any

from learnable.insight.doctor import Finding

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1000px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #e3e6eb;padding-bottom:4px;margin-top:1.8em}
div.scroll{overflow-x:auto}table{border-collapse:collapse;margin:8px 0;font-size:.92em}
td,th{border:1px solid #dde1e7;padding:4px 9px;text-align:left}
th{background:#f0f2f5}.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;display:block;margin:10px 0}.muted{color:#667085}
.finding{border-left:6px solid;padding:8px 12px;margin:10px 0;background:#fafbfc}
.critical{border-color:#d92d20}.warning{border-color:#f79009}.info{border-color:#2e90fa}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.8em;margin-right:6px}
.badge.critical{background:#d92d20}.badge.warning{background:#f79009}.badge.info{background:#2e90fa}
.healthy{border-left:6px solid #12b76a;padding:8px 12px;background:#f6fef9}
"""


# ---- text --------------------------------------------------------------------------------------
def escape(value: Any) -> str:
    """``value`` as text that is safe inside HTML, quotes included."""
    return html.escape(str(value), quote=True)


def value_text(value: Any) -> str:
    """A value as a table shows it: floats to 4 significant digits, None as nothing."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def value_html(value: Any) -> str:
    """:func:`value_text`, escaped for HTML."""
    return escape(value_text(value))


# ---- pieces ------------------------------------------------------------------------------------
def document(record: dict[str, Any], sections: list[str]) -> str:
    """The whole page: a title from the run's name, the style, and the non-empty ``sections``."""
    title = html.escape(f"learnable report: {record.get('name') or 'run'}")
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><main>{''.join(s for s in sections if s)}</main></body></html>")


def header(record: dict[str, Any]) -> str:
    """The run's name, id, status, when it ran and for how long, its command and its error."""
    created, ended = record.get("created"), record.get("ended")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) if created else ""
    took = f", {ended - created:.1f} s" if created and ended else ""
    facts = [f"run {record['id']}" if record.get("id") else "", record.get("status") or "", f"{when}{took}"]
    lines = [f"<h1>{escape(record.get('name') or 'Training run')}</h1>",
             f"<p class=muted>{' &middot; '.join(escape(f) for f in facts if f)}</p>"]
    if record.get("command"):
        lines.append(f"<p class=muted><code>{escape(record['command'])}</code></p>")
    if record.get("error"):
        lines.append(f"<div class='finding critical'><b>Error:</b> {escape(record['error'])}</div>")
    return "".join(lines)


def section(title: str, body: str) -> str:
    """A titled section, or nothing when ``body`` is empty."""
    return f"<section><h2>{escape(title)}</h2>{body}</section>" if body else ""


def findings(found: list[Finding]) -> str:
    """The doctor's findings, one coloured box each, or a line saying nothing was found."""
    if not found:
        return "<div class=healthy>Nothing found: no sign of the problems the doctor checks for.</div>"
    return "".join(
        f"<div class='finding {f.severity}'><span class='badge {f.severity}'>{f.severity}</span>"
        f"<b>{escape(f.title)}</b><p><b>Evidence:</b> {escape(f.evidence)}</p><p>{escape(f.explanation)}</p>"
        f"<p><b>Fix:</b> {escape(f.fix)}</p></div>"
        for f in found)


def table(values: dict[str, Any]) -> str:
    """A two-column table of names and values (a muted line when there are none)."""
    if not values:
        return "<p class=muted>None recorded.</p>"
    rows = "".join(f"<tr><th>{escape(k)}</th><td class=num>{value_html(v)}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


# ---- images ------------------------------------------------------------------------------------
def figures(*drawn: Any) -> str:
    """Each matplotlib figure that is not None, as an embedded PNG; "" when there is none."""
    return "".join(image(f) for f in drawn if f is not None)


def image(figure: Any) -> str:
    """A matplotlib figure as a PNG data URI in an <img>, its title as the alternative text."""
    from learnable.insight.plots import plain_text

    buffer = io.BytesIO()
    plain_text(figure).savefig(buffer, format="png", dpi=100)  # math is off (writer.render): no mathtext ticks
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    title = figure.get_suptitle() or (figure.axes[0].get_title() if figure.axes else "") or "plot"
    return f"<img alt='{escape(title or 'plot')}' src='data:image/png;base64,{data}'>"


def embedded_file(path: str, kind: str, signatures: tuple[bytes, ...], alt: str, what: str) -> str:
    """An image file of the run (``kind`` "png" or "gif") embedded as a data URI, so the report stays one
    self-contained file; a short note instead when the file cannot be read or is not of that kind."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return f"<p class=muted>The {what} '{escape(path)}' cannot be read ({escape(error.strerror or error)}).</p>"
    if not data.startswith(signatures):
        return f"<p class=muted>The {what} '{escape(path)}' is not a {kind.upper()} file.</p>"
    return f"<img alt='{alt}' src='data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}'>"
