"""The after-action report as one self-contained HTML file.

Inline CSS and an inline SVG chart, no script; a Content-Security-Policy that allows nothing
else, so opening the file never makes a request. Every text from the record is escaped.
"""

from __future__ import annotations

from drillkit.render import svgchart
from drillkit.render.aar import Section, footer, title
from drillkit.render.cells import html_text as escape
from drillkit.render.evaluated import report_sections
from drillkit.render.runview import RunView

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
FONTS = (
    'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)
STYLE = f"""
:root {{ color-scheme: light; }}
body {{ font-family: {FONTS}; margin: 2rem auto; max-width: 64rem; padding: 0 1rem; color: #1b1f24;
  line-height: 1.45; }}
h1 {{ font-size: 1.6rem; margin: 0 0 .5rem; }}
h2 {{ font-size: 1.15rem; margin: 1.8rem 0 .5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }}
.mark {{ display: inline-block; font-weight: 700; color: #8a1c1c; border: 2px solid #8a1c1c;
  padding: .1rem .5rem; letter-spacing: .05em; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ border: 1px solid #d0d7de; padding: .25rem .45rem; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; white-space: pre-line; }}
th {{ background: #f3f5f7; }}
#timeline td:nth-child(-n+5), #notes td:nth-child(-n+3) {{ white-space: nowrap; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }}
dt {{ font-weight: 600; }}
dd {{ margin: 0; overflow-wrap: anywhere; }}
figure {{ margin: 1rem 0; }}
figcaption {{ font-size: .85rem; color: #57606a; }}
footer {{ margin-top: 2rem; padding-top: .5rem; border-top: 2px solid #1b1f24; font-size: .85rem;
  overflow-wrap: anywhere; }}
#state-chart text {{ font-family: {FONTS}; }}
.lane {{ fill: #fafbfc; }} .lane-alt {{ fill: #eef1f4; }}
.lane-label {{ font-size: 12px; text-anchor: end; fill: #1b1f24; }}
.tick {{ stroke: #d0d7de; }} .axis {{ stroke: #57606a; }}
.tick-label {{ font-size: 10px; text-anchor: middle; fill: #57606a; }}
.stay {{ fill: #3b6fb6; }} .stay.final {{ fill: #2e8b57; }}
.deadline {{ stroke: #d97a00; stroke-width: 2; stroke-dasharray: 4 3; }}
.inject {{ fill: #6a4fb3; }} .breach {{ fill: #c62828; }}
@page {{ size: A4; margin: 14mm; }}
@media print {{
  :root {{ font-size: 9.5pt; }}
  body {{ margin: 0; max-width: none; }}
  h2 {{ break-after: avoid; }}
  tr, figure, dl {{ break-inside: avoid; }}
  th {{ background: none; }}
  .mark {{ border-width: 1.5pt; }}
}}
"""


def page(lang: str, heading: str, body: str, style: str = "") -> str:
    """A whole self-contained page: `heading` (plain text) as its title, `body` (HTML) inside,
    this module's style and `style` after it. `lang` is en or zh."""
    code = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{code}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(heading)}</title>\n<style>{STYLE}{style}</style>\n</head>\n<body>\n"
        f"{body}</body>\n</html>\n"
    )


def render(view: RunView) -> str:
    heading = escape(title(view).removeprefix(view.mark()))
    mark = f'<p class="mark">{escape(view.mark().strip(" []"))}</p>\n' if view.is_drill else ""
    body = "\n".join(_section(view, section) for section in report_sections(view))
    return page(
        view.labels.lang,
        title(view),
        f"<header>\n{mark}<h1>{heading}</h1>\n</header>\n{body}\n"
        f'<footer class="integrity">{escape(footer(view))}</footer>\n',
    )


def _section(view: RunView, section: Section) -> str:
    content = _pairs(section) if not section.headers else table(section.headers, section.rows)
    chart = _chart(view) if section.key == "state_times" else ""
    return f'<section id="{section.key}">\n<h2>{escape(section.title)}</h2>\n{content}\n{chart}</section>'


def _pairs(section: Section) -> str:
    items = "".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in section.rows)
    return f"<dl>{items}</dl>"


def _chart(view: RunView) -> str:
    say = view.labels
    legend = f"{say.clock(view.run['mode'], 'chart')} · ▼ {say('injected')} · ◆ {say('breach')} · ┆ {say('deadline')}"
    return f"<figure>\n{svgchart.render(view)}\n<figcaption>{escape(legend)}</figcaption>\n</figure>\n"


def table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in headers)
    lines = "\n".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{lines}\n</tbody>\n</table>"
