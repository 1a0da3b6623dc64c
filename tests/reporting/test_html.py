"""The HTML renderer (forecastlab.reporting.html) and the report's figures: hostile text stays text, images
are embedded as data URIs, nothing points outside the page, and the page parses."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.reporting.html import Image, Note, Paragraph, Section, Table, png_data_uri, render_html
from forecastlab.reporting.png import png_bytes
from forecastlab.reporting.report_plots import coverage_figure, error_bars_figure, forecast_figure

HOSTILE = '<script>alert("x")</script><img src="http://evil.example/a.png" onerror="steal()">'


class Page(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "img", "br", "link", "input"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open[-5:])
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.open == [], parser.open  # every element closed, in order
    return parser


def no_external_reference(page: str) -> None:
    for bad in ('src="http', "src='http", 'href="http', "href='http", "<script", "<link", "@import", "url(",
                "<iframe", "<object", "<embed", 'src="//', 'href="//'):
        assert bad not in page.lower(), bad


def figure():
    times = pd.date_range("2015-01-01", periods=48, freq="1h")
    y = np.sin(np.arange(48) / 4)
    return forecast_figure(times, y, y + 0.1, lower=y - 1, upper=y + 1, persistence=np.roll(y, 24), level=0.8,
                           unit="degC", label="lstm")


def test_hostile_text_is_escaped_everywhere():
    rows = [{"model": HOSTILE, "val MAE": 2.5, HOSTILE: "x"}]
    page = render_html(HOSTILE, [Section(HOSTILE, HOSTILE, [
        Paragraph(HOSTILE), Note(HOSTILE, kind="warning"), Table(rows, caption=HOSTILE),
        Image(png_bytes(figure()), alt=HOSTILE, caption=HOSTILE)])], subtitle=HOSTILE, footer=HOSTILE)
    parsed = parse(page)
    assert "<script" not in page
    assert [t for t, _ in parsed.tags if t in ("script", "iframe", "object")] == []
    assert all("onerror" not in attrs for _, attrs in parsed.tags)  # never an attribute, only text
    assert sum(HOSTILE in chunk for chunk in parsed.text) >= 6  # shown as text: title, h1, h2, p, note, cell...
    imgs = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert len(imgs) == 1 and imgs[0]["alt"] == HOSTILE
    no_external_reference(page)


def test_images_are_png_data_uris_and_decode_to_the_png():
    png = png_bytes(figure())
    page = render_html("r", [Section("a", "A", [Image(png, alt="bytes"), Image(figure(), alt="a figure",
                                                                               caption="drawn here")])])
    srcs = [attrs["src"] for tag, attrs in parse(page).tags if tag == "img"]
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert base64.b64decode(srcs[0].split(",", 1)[1]) == png
    assert base64.b64decode(srcs[1].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    no_external_reference(page)
    # The browser is told too: nothing but data: images and the inline style may load.
    csp = next(a["content"] for t, a in parse(page).tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in csp and "img-src data:" in csp


def test_a_non_png_is_refused():
    with pytest.raises(ForecastlabError, match="not a PNG"):
        png_data_uri(b"<svg onload=alert(1)>")
    with pytest.raises(ForecastlabError, match="not a PNG"):
        render_html("r", [Section("a", "A", [Image(b"GIF89a....", alt="x")])])


def test_tables_format_numbers_dashes_and_dataframes():
    frame = pd.DataFrame({"horizon": ["6h", "24h"], "mae": [1.23456, float("nan")], "n": [1000, 20]})
    page = render_html("t", [Section("t", "T", [Table(frame, highlight=(1,)), Table([{"a": None, "b": True}],
                                                                                    formats={"a": ".1f"})])])
    text = " ".join(parse(page).text)
    assert "1.235" in text and "1,000" in text and "—" in text and "yes" in text
    assert page.count('class="highlight"') == 1


def test_markup_in_paragraphs_is_applied_after_escaping():
    page = render_html("t", [Section("t", "T", [Paragraph("**best** model `lstm` <b>not bold</b>")])])
    assert "<strong>best</strong>" in page and "<code>lstm</code>" in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page


def test_section_anchors_are_unique_and_the_contents_link_to_them():
    page = render_html("t", [Section("same", "One"), Section("same", "Two"), Section("<x>", "Three")])
    parsed = parse(page)
    ids = [a["id"] for t, a in parsed.tags if t == "section"]
    links = [a["href"] for t, a in parsed.tags if t == "a"]
    assert len(set(ids)) == 3 and links == [f"#{i}" for i in ids]
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)


def test_the_report_figures_render():
    for fig in (figure(), error_bars_figure(["00:00", "01:00"], {"lstm": [1.0, 2.0], "persistence": [1.5, 1.5]},
                                            title="by hour", xlabel="hour", unit="degC", counts=[10, 12]),
                coverage_figure(["6h", "24h"], [0.78, 0.81], 0.8)):
        assert png_bytes(fig).startswith(b"\x89PNG")
