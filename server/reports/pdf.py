"""The audit report as a PDF a client would pay for, drawn with fpdf2 from the same Report as the page.

A4 portrait: a header band with the brand and location, the score box, the visit's facts, critical
failures first, the pillars against their targets as bars, then every section's answers with their
comments and photo thumbnails (each with its capture time and distance from the location). Text is
set in DejaVu Sans (shipped in fonts/, Bitstream Vera licence) so any auditor's comment prints,
accents, Greek and Cyrillic included. Pure: the thumbnails come as bytes, so it runs in a worker
process (server/workers.py) on what the request read.
"""

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from server.reports.charts import colour
from server.reports.report import AnswerRow, Report, taken

FONTS = Path(__file__).parent / "fonts"
BRAND = (11, 85, 99)  # the pages' --brand
INK = (26, 26, 26)
MUTED = (74, 85, 96)
LINE = (197, 204, 211)
FAILED = (251, 234, 230)  # a pale wash behind a failed critical item; the word "FAILED" says it too
FAR_M = 300  # a photo farther than this from the location is marked "far", as on the page

WIDTHS = (108, 47, 25)  # question, answer, points: 180 mm between 15 mm margins
THUMB_W, THUMB_H = 40, 30  # mm: the box each thumbnail fits inside, its own shape kept
NEXT = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
LEFT = "L"  # fpdf2 justifies multi_cell text by default, which stretches short answers


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


class _Document(FPDF):
    def __init__(self, r: Report):
        super().__init__(format="A4", unit="mm")
        self.report = r
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.add_font("Sans", "", FONTS / "DejaVuSans.ttf")
        self.add_font("Sans", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_title(f"{r.touchpoint} at {r.location}")
        self.set_author(r.brand)
        self.set_creator("Touchpoint")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Sans", "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.report.brand} · {self.report.location} · audit {self.report.audit.id}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def heading(self, text: str) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(3)
        self.set_font("Sans", "B", 12.5)
        self.set_text_color(*BRAND)
        self.cell(0, 7, text, **NEXT)
        self.set_draw_color(*BRAND)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self.set_text_color(*INK)


def _header(pdf: _Document) -> None:
    r, a = pdf.report, pdf.report.audit
    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, pdf.w, 44, style="F")
    pdf.set_xy(15, 10)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Sans", "", 9.5)
    pdf.cell(120, 5, f"{r.brand} · audit report", **NEXT)
    pdf.set_font("Sans", "B", 17)
    pdf.multi_cell(125, 8, r.touchpoint, **NEXT, align=LEFT)
    pdf.set_font("Sans", "", 12)
    pdf.multi_cell(125, 6, f"{r.location}, {r.region}", **NEXT, align=LEFT)

    # the score box, top right: the score, promise kept or broken in words
    kept = a.result.promise_kept
    x, y, w, h = 147, 8, 48, 30
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, w, h, style="F", round_corners=True, corner_radius=2)
    pdf.set_xy(x, y + 2)
    pdf.set_text_color(*INK)
    pdf.set_font("Sans", "B", 22)
    pdf.cell(w, 11, _figure(a.result.score), align="C", **NEXT)
    pdf.set_x(x)
    pdf.set_font("Sans", "B", 10)
    pdf.set_text_color(*(BRAND if kept else (138, 28, 28)))
    pdf.cell(w, 6, "Promise kept" if kept else "Promise broken", align="C", **NEXT)
    pdf.set_x(x)
    pdf.set_font("Sans", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(w, 5, f"{a.result.earned:g} of {a.result.possible:g} points · threshold {r.threshold:g}", align="C")

    # the visit's facts under the band
    pdf.set_xy(15, 49)
    if a.finished_at is None:  # a shop's staff: the day only (server.visibility)
        when = [("Day", dt.date.fromisoformat(a.day).strftime("%-d %B %Y"))]
    else:
        offset = a.finished_at.strftime("%z")
        when = [("Finished", f"{a.finished_at.strftime('%-d %B %Y, %H:%M')} (local, {offset[:3]}:{offset[3:]})"),
                ("Took", f"{int((a.finished_at - a.started_at).total_seconds() // 60)} minutes")]
    facts = [*when, ("Auditor", a.auditor), ("Status", a.status.replace("_", " ")), ("Checklist version", a.version)]
    for label, value in facts:
        pdf.set_font("Sans", "B", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(32, 5.5, label)
        pdf.set_font("Sans", "", 9.5)
        pdf.set_text_color(*INK)
        pdf.cell(0, 5.5, value, **NEXT)
    if a.result.critical_failed:
        pdf.set_font("Sans", "", 9)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 5, f"The score is capped from {_figure(a.result.raw_score)} because a critical item failed.", **NEXT, align=LEFT)


def _critical(pdf: _Document) -> None:
    if not pdf.report.critical:
        return
    pdf.heading("Critical failures")
    for row in pdf.report.critical:
        pdf.set_font("Sans", "B", 10)
        text = f"✗ {row.text} — {row.said}"
        pdf.set_fill_color(*FAILED)
        pdf.multi_cell(0, 6, text, fill=True, **NEXT, align=LEFT)
        if row.comment:
            pdf.set_font("Sans", "", 9.5)
            pdf.multi_cell(0, 5, f"“{row.comment}”", fill=True, **NEXT, align=LEFT)
        pdf.ln(1.5)


def _pillars(pdf: _Document) -> None:
    pdf.heading("Pillars against their targets")
    bar_x, bar_w = 70, 90
    for p in pdf.report.pillars:
        if pdf.will_page_break(8):
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_font("Sans", "", 9.5)
        pdf.set_text_color(*INK)
        pdf.set_xy(15, y)
        pdf.multi_cell(bar_x - 17, 6, p.name, align=LEFT)
        pdf.set_draw_color(*LINE)
        pdf.set_fill_color(245, 246, 248)
        pdf.rect(bar_x, y + 1, bar_w, 4.5, style="DF")
        if p.score is not None:
            pdf.set_fill_color(*_rgb(colour(p.score)))
            pdf.rect(bar_x, y + 1, bar_w * p.score / 100, 4.5, style="F")
        # the target as a black tick across the bar
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.6)
        tx = bar_x + bar_w * p.target / 100
        pdf.line(tx, y, tx, y + 6.5)
        pdf.set_line_width(0.2)
        pdf.set_xy(bar_x + bar_w + 3, y)
        below = p.score is not None and p.score < p.target
        pdf.set_font("Sans", "B" if below else "", 9.5)
        pdf.cell(0, 6, f"{_figure(p.score)} (target {p.target:g}){' below' if below else ''}")
        pdf.set_y(max(pdf.get_y(), y + 7.5))
    pdf.set_font("Sans", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, "Bars run from 0 to 100; the black tick is the pillar's target.", **NEXT)


def _thumbs(pdf: _Document, row: AnswerRow, thumbs: Mapping[str, bytes]) -> None:
    shown = [p for p in row.photos if p.id in thumbs]
    per_row = 4
    for start in range(0, len(shown), per_row):
        if pdf.will_page_break(THUMB_H + 9):
            pdf.add_page()
        y = pdf.get_y() + 1
        for i, photo in enumerate(shown[start:start + per_row]):
            x = 17 + i * (THUMB_W + 4)
            pdf.image(io.BytesIO(thumbs[photo.id]), x=x, y=y, w=THUMB_W, h=THUMB_H, keep_aspect_ratio=True)  # upright, as stored
            pdf.set_xy(x, y + THUMB_H + 0.5)
            pdf.set_font("Sans", "", 6.5)
            pdf.set_text_color(*MUTED)
            where = ""
            if photo.distance_m is not None:
                where = f" · {photo.distance_m:.0f} m{' FAR' if photo.distance_m > FAR_M else ''}"
            pdf.cell(THUMB_W, 3.5, f"{taken(photo)}{where}")
        pdf.set_y(y + THUMB_H + 5)
    missing = len(row.photos) - len(shown)
    if missing:
        pdf.set_font("Sans", "", 8)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 5, f"{missing} photo(s) not yet received", **NEXT)


def _answers(pdf: _Document, thumbs: Mapping[str, bytes]) -> None:
    for section in pdf.report.sections:
        pdf.heading(f"{section.title}   {_figure(section.score)}")
        for row in section.answers:
            question = row.text + ("  [critical]" if row.critical else "")
            points = f"{row.earned:g} / {row.possible:g}" if row.possible else "not scored"
            answer = ("FAILED: " if row.failed else "") + row.said
            pdf.set_font("Sans", "", 9.5)
            heights = [
                pdf.multi_cell(WIDTHS[0] - 2, 5, question, dry_run=True, output="HEIGHT"),
                pdf.multi_cell(WIDTHS[1] - 2, 5, answer, dry_run=True, output="HEIGHT"),
            ]
            if row.comment:
                pdf.set_font("Sans", "", 8.5)
                heights[0] += pdf.multi_cell(WIDTHS[0] - 2, 4.5, f"“{row.comment}”", dry_run=True, output="HEIGHT", align=LEFT)
            h = max(*heights, 5) + 2
            shown = sum(1 for p in row.photos if p.id in thumbs)
            first_thumbs = (THUMB_H + 6) if shown else 0  # a row's first thumbnails stay on its page
            if pdf.will_page_break(h + first_thumbs):
                pdf.add_page()
            y = pdf.get_y()
            if row.failed:
                pdf.set_fill_color(*FAILED)
                pdf.rect(15, y, sum(WIDTHS), h, style="F")
            pdf.set_xy(16, y + 1)
            pdf.set_font("Sans", "B" if row.failed else "", 9.5)
            pdf.set_text_color(*INK)
            pdf.multi_cell(WIDTHS[0] - 2, 5, question, **NEXT, align=LEFT)
            if row.comment:
                pdf.set_x(16)
                pdf.set_font("Sans", "", 8.5)
                pdf.set_text_color(*MUTED)
                pdf.multi_cell(WIDTHS[0] - 2, 4.5, f"“{row.comment}”", **NEXT, align=LEFT)
            pdf.set_xy(15 + WIDTHS[0], y + 1)
            pdf.set_font("Sans", "B" if row.failed else "", 9.5)
            pdf.set_text_color(*INK)
            pdf.multi_cell(WIDTHS[1] - 2, 5, answer, align=LEFT)
            pdf.set_xy(15 + WIDTHS[0] + WIDTHS[1], y + 1)
            pdf.set_font("Sans", "", 9.5)
            pdf.set_text_color(*(INK if row.possible else MUTED))
            pdf.cell(WIDTHS[2], 5, points, align="R")
            pdf.set_y(y + h)
            if row.photos:
                _thumbs(pdf, row, thumbs)
            pdf.set_draw_color(*LINE)
            pdf.line(15, pdf.get_y(), 15 + sum(WIDTHS), pdf.get_y())


def render(r: Report, thumbs: Mapping[str, bytes]) -> bytes:
    """The report as PDF bytes; `thumbs` maps a photo id to its thumbnail (JPEG bytes)."""
    pdf = _Document(r)
    pdf.add_page()
    _header(pdf)
    _critical(pdf)
    _pillars(pdf)
    _answers(pdf, thumbs)
    pdf.heading("How this audit was scored")
    pdf.set_font("Sans", "", 9)
    pdf.set_text_color(*MUTED)
    rule = ("Score: points earned over points possible across the checklist"
            + (", capped by a failed critical item" if r.audit.result.critical_failed else "")
            + f"; the promise is kept at {r.threshold:g} or more with no critical failure. "
            f"Scored against checklist version {r.audit.version}, as answered.")
    pdf.multi_cell(0, 5, rule, **NEXT, align=LEFT)
    return bytes(pdf.output())
