"""One self-contained HTML page from plain data: sections of paragraphs, notes, tables and images.

    page = render_html("lstm on jena.csv", [
        Section("leaderboard", "Leaderboard", [Table(rows, caption="MAE in degC"), Paragraph("**lstm** wins")]),
        Section("curves", "Training curves", [Image(figure_or_png_bytes, alt="loss by epoch")]),
    ])

The page needs nothing but itself: every image is a base64 PNG data URI, the stylesheet is inline, and
there is no script, font, link or request of any kind (a Content-Security-Policy meta tag says so to the
browser too), so it can be mailed, archived or opened offline. Every text given (titles, cells, captions,
notes) is escaped with html.escape: a run name like `<script>` shows as text. Paragraphs and notes may
mark `**bold**` and `` `code` `` (as the leaderboard's markdown does), applied after escaping.
"""

from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass, field
from numbers import Integral, Real

from forecastlab.errors import ForecastlabError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# No network, no script, no plugin: images only from data: URIs, styles only from the page itself.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
.subtitle { color: #555; margin-top: 0; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4em 1.2em; }
table { border-collapse: collapse; margin: .8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f3f5; } td:first-child, th:first-child { text-align: left; }
tr.highlight td { font-weight: 600; background: #fffbe6; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: .3em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .92em; }
.note { border-left: 4px solid #7a9cc6; background: #f2f6fb; padding: .5em .8em; margin: .8em 0; }
.note.warning { border-color: #d08c00; background: #fff7e6; }
code { background: #f3f3f5; padding: 0 .2em; border-radius: 3px; }
footer { color: #777; font-size: .85em; margin-top: 3em; border-top: 1px solid #ddd; padding-top: .5em; }
"""


@dataclass
class Paragraph:
    text: str


@dataclass
class Note:
    """A boxed remark: why a section is missing and what to do ("warning"), or context ("info")."""

    text: str
    kind: str = "info"


@dataclass
class Table:
    """Rows as a pandas DataFrame or a list of dicts (columns in first-seen order). Floats print with
    `digits` decimals unless `formats` gives a column its own format spec; None and NaN print as a dash.
    Rows whose index is in `highlight` are emphasized (e.g. the model the report is about)."""

    rows: object
    caption: str | None = None
    formats: dict[str, str] = field(default_factory=dict)
    digits: int = 3
    highlight: tuple[int, ...] = ()


@dataclass
class Image:
    """A PNG (bytes) or a matplotlib figure (rendered to PNG), shown inline."""

    png: object
    alt: str
    caption: str | None = None


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)


def render_html(title: str, sections: list[Section], *, subtitle: str | None = None,
                footer: str | None = None) -> str:
    """The whole page: title, a table of contents, each section, a footer; one string, UTF-8 ready."""
    ids: list[str] = []
    for i, s in enumerate(sections):  # unique, so every link of the contents goes to its own section
        anchor = _anchor(s.id, i)
        ids.append(anchor if anchor not in ids else f"{anchor}-{i + 1}")
    toc = "".join(f'<li><a href="#{i}">{_esc(s.title)}</a></li>' for i, s in zip(ids, sections, strict=True))
    body = "\n".join(_section(s, i) for s, i in zip(sections, ids, strict=True))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_esc(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="subtitle">{_inline(subtitle)}</p>' if subtitle else "",
        f"<nav><ul>{toc}</ul></nav>" if len(sections) > 1 else "",
        body,
        f"<footer>{_inline(footer)}</footer>" if footer else "",
        "</body>",
        "</html>",
        "",
    ])


def png_data_uri(png: bytes) -> str:
    """`data:image/png;base64,...` for PNG bytes; anything that is not a PNG is refused."""
    if not isinstance(png, bytes | bytearray) or not bytes(png[:8]) == PNG_MAGIC:
        raise ForecastlabError("an image for the report is not a PNG", where="the report's images",
                               fix="pass PNG bytes or a matplotlib figure")
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")


def _section(section: Section, anchor: str) -> str:
    parts = [f'<section id="{anchor}">', f"<h2>{_esc(section.title)}</h2>"]
    parts += [_block(b) for b in section.blocks]
    parts.append("</section>")
    return "\n".join(parts)


def _block(block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Note):
        kind = "warning" if block.kind == "warning" else "info"
        return f'<div class="note {kind}">{_inline(block.text)}</div>'
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Image):
        return _image(block)
    raise TypeError(f"not a report block: {type(block).__name__}")


def _image(image: Image) -> str:
    png = image.png
    if hasattr(png, "savefig"):  # a matplotlib figure
        from forecastlab.reporting.png import png_bytes

        png = png_bytes(png)
    tag = f'<img src="{png_data_uri(png)}" alt="{_esc(image.alt)}">'
    caption = f"<figcaption>{_inline(image.caption)}</figcaption>" if image.caption else ""
    return f"<figure>{tag}{caption}</figure>"


def _records(rows) -> tuple[list[str], list[dict]]:
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a pandas DataFrame
        return [str(c) for c in rows.columns], [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
    records = [dict(r) for r in rows]
    columns: list[str] = []
    for r in records:
        columns += [str(k) for k in r if str(k) not in columns]
    return columns, [{str(k): v for k, v in r.items()} for r in records]


def _table(table: Table) -> str:
    columns, records = _records(table.rows)
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    lines = []
    for i, r in enumerate(records):
        cells = "".join(f"<td>{_esc(_cell(r.get(c), table.formats.get(c), table.digits))}</td>" for c in columns)
        lines.append(f'<tr class="highlight">{cells}</tr>' if i in table.highlight else f"<tr>{cells}</tr>")
    caption = f"<caption>{_esc(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _cell(value, spec: str | None, digits: int) -> str:
    if value is None or (isinstance(value, Real) and not isinstance(value, Integral) and math.isnan(value)):
        return "—"
    if spec is not None:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        return f"{float(value):.{digits}f}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _inline(text) -> str:
    """Escaped text with **bold** and `code` marked up (after escaping, so nothing given becomes a tag)."""
    out = _CODE.sub(r"<code>\1</code>", _esc(text))
    return _BOLD.sub(r"<strong>\1</strong>", out)


def _anchor(name: str, index: int) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", str(name).lower()).strip("-")
    return slug or f"section-{index + 1}"
