"""A report as plain text (pipeable), as JSON (``tests/schemas/report.json``) and as one
self-contained HTML page (no script, no network: inline style, a table of contents,
a ``<details>`` per section)."""
from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any

from ..results import record_json
from .model import Report, Section, TargetReport

RULE = "=" * 78


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _heading(part: TargetReport) -> str:
    return f"{part.name}: {part.kind}" + (f" {part.release}" if part.release else "")


def _section_title(s: Section) -> str:
    return s.title + (f" ({s.command})" if s.command else "")


def summary_lines(report: Report) -> list[str]:
    d = report.dump
    lines = [f"xcrash {report.xcrash} report of {d.path}",
             f"DUMP: {d.format}, {_size(d.size)}"
             + (f", Xen {d.hypervisor}" if d.hypervisor else "")
             + (f", build-id {d.build_id}" if d.build_id else "")]
    if report.crash is not None:
        lines += [f"TITLE: {report.crash.title}", f"SIGNATURE: {report.crash.signature}"]
    else:
        lines.append("TITLE: (no crash found)")
    lines.append("TARGETS: " + ", ".join(_heading(p) for p in report.targets))
    if report.redacted:
        lines.append("REDACTED: command lines, environments, host names and log lines that "
                     "may carry secrets are left out")
    return lines


def section_lines(s: Section) -> Iterator[str]:
    yield from s.lines
    if s.error:
        yield f"xcrash: {s.command or s.title}: {s.error}"
    yield from (f"WARNING: {w}" for w in s.warnings)


def text_lines(report: Report) -> Iterator[str]:
    """The report as plain text: the summary, then per target a heading and its
    sections, each under a ``---- title (command) ----`` line."""
    yield from summary_lines(report)
    yield from (f"NOTE: {m}" for m in report.messages)
    for part in report.targets:
        yield ""
        yield RULE
        yield _heading(part)
        yield RULE
        for s in part.sections:
            yield ""
            yield f"---- {_section_title(s)} ----"
            yield from section_lines(s)


def to_text(report: Report) -> str:
    return "\n".join(text_lines(report)) + "\n"


def to_json(report: Report) -> str:
    return json.dumps(record_json(report), indent=2) + "\n"


# -- HTML ------------------------------------------------------------------------------------
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:110em;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.2em;border-bottom:2px solid #446;margin-top:2em}
pre{background:#f6f6f8;padding:.6em;overflow-x:auto;font-size:.85em;line-height:1.3}
summary{cursor:pointer;font-weight:600;padding:.2em 0}
details{margin:.4em 0}.warn{color:#a40}.err{color:#b00;font-weight:600}
table.facts td{padding:.1em .8em .1em 0;vertical-align:top}
nav ul{columns:2;font-size:.9em}.title{font-size:1.1em;font-weight:600;color:#603}
code{font-size:.95em}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def html_page(title: str, body: list[str]) -> str:
    """A whole page around ``body``: inline style, no script, nothing fetched."""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{STYLE}</style>",
        # no favicon request: the page fetches nothing
        '<link rel="icon" href="data:,">', "</head>", "<body>", *body, "</body>", "</html>", ""])


def to_html(report: Report) -> str:
    d = report.dump
    crash = report.crash
    body = [f"<h1>xcrash report: {_e(d.path)}</h1>", '<table class="facts" id="summary">']
    rows = [("Title", crash.title if crash else "(no crash found)"),
            ("Signature", crash.signature if crash else "-"),
            ("Dump", f"{d.format}, {_size(d.size)}"),
            ("Hypervisor", f"Xen {d.hypervisor}" if d.hypervisor else "-"),
            ("Build-id", d.build_id or "-"),
            ("xcrash", report.xcrash)]
    if report.redacted:
        rows.append(("Redacted", "command lines, environments, host names and log lines that "
                                 "may carry secrets are left out"))
    for k, v in rows:
        cls = ' class="title"' if k == "Title" else ""
        body.append(f"<tr><td>{k}</td><td{cls}>{_e(v)}</td></tr>")
    body.append("</table>")
    if report.messages:
        body.append("<details><summary>Start-up notes</summary><pre>"
                    + _e("\n".join(report.messages)) + "</pre></details>")
    body.append('<nav id="toc"><h2>Contents</h2><ul>')
    for part in report.targets:
        body.append(f'<li><a href="#{_e(part.name)}">{_e(_heading(part))}</a><ul>')
        body += [f'<li><a href="#{_e(s.id)}">{_e(_section_title(s))}</a>'
                 + (' <span class="err">(failed)</span>' if s.error else "") + "</li>"
                 for s in part.sections]
        body.append("</ul></li>")
    body.append("</ul></nav>")
    for part in report.targets:
        body.append(f'<section class="target" id="{_e(part.name)}">'
                    f"<h2>{_e(_heading(part))}</h2>")
        if part.crash is not None:
            body.append(f'<p class="title">{_e(part.crash.title)}</p>')
        for s in part.sections:
            body.append(f'<details class="section" id="{_e(s.id)}" open>'
                        f"<summary>{_e(_section_title(s))}</summary>")
            if s.lines:
                body.append("<pre>" + _e("\n".join(s.lines)) + "</pre>")
            if s.error:
                body.append(f'<p class="err">{_e(s.error)}</p>')
            body += [f'<p class="warn">WARNING: {_e(w)}</p>' for w in s.warnings]
            body.append("</details>")
        body.append("</section>")
    return html_page(f"xcrash report: {crash.title if crash else d.path}", body)
