"""Dumps grouped by signature: a table for the terminal, one HTML page with a chart of
crashes per signature over time (an inline SVG: nothing fetched, no script) and links
to each dump's report."""
from __future__ import annotations

import html
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..report.render import html_page


@dataclass
class Group:
    """The dumps of one signature."""
    signature: str
    title: str
    count: int = 0
    first: int | None = None
    last: int | None = None
    kernels: list[str] = field(default_factory=list)
    example: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)


def _kernel(r: dict[str, Any]) -> str | None:
    if r.get("hypervisor"):
        return f"Xen {r['hypervisor']}"
    return r.get("release")


def groups(records: list[dict[str, Any]]) -> list[Group]:
    """The groups of the records that have a signature, the largest first (then by
    signature); each group's title is its most common one."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("signature"):
            by.setdefault(r["signature"], []).append(r)
    out = []
    for sig, recs in by.items():
        recs.sort(key=lambda r: (r.get("crash_time") or 0, r["path"]))
        titles = Counter(r.get("title") or "" for r in recs)
        times = [r["crash_time"] for r in recs if r.get("crash_time")]
        kernels = sorted({k for r in recs if (k := _kernel(r))})
        out.append(Group(sig, titles.most_common(1)[0][0], len(recs),
                         min(times) if times else None, max(times) if times else None,
                         kernels, recs[0]["path"], recs))
    out.sort(key=lambda g: (-g.count, g.signature))
    return out


def when(stamp: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(stamp)) if stamp else "-"


def table_lines(records: list[dict[str, Any]]) -> list[str]:
    """The grouping table, then the dumps without a signature (errors, no crash found)."""
    gs = groups(records)
    lines = [f"{'SIGNATURE':<16}  {'COUNT':>5}  {'FIRST (UTC)':<19}  {'LAST (UTC)':<19}  "
             f"{'KERNELS':<24}  TITLE"]
    for g in gs:
        lines.append(f"{g.signature:<16}  {g.count:5d}  {when(g.first):<19}  {when(g.last):<19}  "
                     f"{', '.join(g.kernels):<24}  {g.title}")
        lines.append(f"{'':16}  {'':5}  example: {g.example}")
    errors = [r for r in records if r.get("error")]
    nocrash = [r for r in records if not r.get("error") and not r.get("signature")]
    lines.append(f"{len(records)} dumps, {len(gs)} signatures, {len(errors)} could not be "
                 f"opened, {len(nocrash)} without a crash found")
    lines += [f"error: {r['path']}: {r['error']}" for r in errors]
    lines += [f"no crash found: {r['path']}" + (f" ({r['notes'][0]})" if r.get("notes") else "")
              for r in nocrash]
    return lines


# -- HTML ---------------------------------------------------------------------------------
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _link(r: dict[str, Any], report_base: str) -> str | None:
    return f"{report_base}/{r['report']}" if r.get("report") else None


def chart_svg(gs: list[Group], report_base: str) -> str:
    """A dot per dump on its signature's row, placed by its crash time; each dot
    links to the dump's report."""
    times = [r["crash_time"] for g in gs for r in g.records if r.get("crash_time")]
    label_w, width, row_h, top = 190, 900, 28, 30
    height = top + row_h * max(len(gs), 1) + 40
    lo, hi = (min(times), max(times)) if times else (0, 1)
    span = max(hi - lo, 1)

    def x(t: int | None) -> float:
        if t is None:
            return float(label_w)
        return label_w + 20 + (width - label_w - 40) * (t - lo) / span

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="chart" role="img" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="sans-serif" font-size="12">',
           "<title>crashes per signature over time</title>",
           f'<line x1="{label_w}" y1="{height - 30}" x2="{width - 10}" y2="{height - 30}" '
           'stroke="#888"/>',
           f'<text x="{label_w}" y="{height - 12}">{_e(when(lo))} UTC</text>',
           f'<text x="{width - 10}" y="{height - 12}" text-anchor="end">{_e(when(hi))} UTC</text>']
    palette = ["#c33", "#36c", "#393", "#c80", "#839", "#088", "#963", "#555"]
    for i, g in enumerate(gs):
        y = top + row_h * i + row_h / 2
        colour = palette[i % len(palette)]
        out.append(f'<text x="4" y="{y + 4}" class="row">{_e(g.signature)} ({g.count})</text>')
        out.append(f'<line x1="{label_w}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#eee"/>')
        for r in g.records:
            tip = f"{r['path']} — {when(r.get('crash_time'))} UTC — {r.get('title') or ''}"
            dot = (f'<circle cx="{x(r.get("crash_time")):.1f}" cy="{y}" r="6" fill="{colour}" '
                   f'fill-opacity="0.7"><title>{_e(tip)}</title></circle>')
            link = _link(r, report_base)
            out.append(f'<a href="{_e(link)}">{dot}</a>' if link else dot)
    out.append("</svg>")
    return "\n".join(out)


def summary_html(records: list[dict[str, Any]], report_base: str = "reports") -> str:
    gs = groups(records)
    body = ["<h1>xcrash triage</h1>",
            f"<p>{len(records)} dumps, {len(gs)} signatures, "
            f"{sum(1 for r in records if r.get('error'))} could not be opened.</p>",
            '<h2 id="chart-title">Crashes per signature over time</h2>', chart_svg(gs, report_base),
            '<h2>Groups</h2><table id="groups" border="1" cellspacing="0" cellpadding="4">',
            "<tr><th>signature</th><th>count</th><th>first (UTC)</th><th>last (UTC)</th>"
            "<th>kernels</th><th>title</th><th>example</th></tr>"]
    for g in gs:
        ex = g.records[0]
        link = _link(ex, report_base)
        example = (f'<a href="{_e(link)}">{_e(ex["path"])}</a>' if link else _e(ex["path"]))
        body.append(f'<tr id="group-{_e(g.signature)}"><td><code>{_e(g.signature)}</code></td>'
                    f"<td>{g.count}</td><td>{_e(when(g.first))}</td><td>{_e(when(g.last))}</td>"
                    f"<td>{_e(', '.join(g.kernels))}</td><td>{_e(g.title)}</td>"
                    f"<td>{example}</td></tr>")
    body += ["</table>", '<h2>Dumps</h2><table id="dumps" border="1" cellspacing="0" '
             'cellpadding="4">', "<tr><th>dump</th><th>crash time (UTC)</th><th>kernel</th>"
             "<th>title</th><th>signature</th></tr>"]
    for r in sorted(records, key=lambda r: r["path"]):
        link = _link(r, report_base)
        name = f'<a class="report" href="{_e(link)}">{_e(r["path"])}</a>' if link else _e(r["path"])
        what = r.get("title") or (f"error: {r['error']}" if r.get("error") else "no crash found")
        body.append(f"<tr><td>{name}</td><td>{_e(when(r.get('crash_time')))}</td>"
                    f"<td>{_e(_kernel(r) or '-')}</td><td>{_e(what)}</td>"
                    f"<td><code>{_e(r.get('signature') or '-')}</code></td></tr>")
    body.append("</table>")
    return html_page("xcrash triage", body)
