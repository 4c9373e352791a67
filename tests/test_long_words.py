"""One long unbroken word (a pasted URL) in a comment or a location's name wraps in the audit PDF
rather than running off the page (issue 23, point 3)."""

import io
import re

from pypdf import PdfReader

from tests.conftest import GOOD_VISIT, audit_body

URL = "https://example.com/" + "a1b2c3d4e5" * 28  # 300 characters, no space to break at
NAME = "Shop" + "x" * 116  # a 120-character word as a location's name


def test_the_audit_pdf_wraps_a_300_character_word_within_the_page(server):
    shop = [{"id": "l9", "name": NAME, "region": "r1", "lat": 51.50, "lng": -0.12}]
    assert server.post("/api/locations", "admin", json=shop).status_code == 201
    body = audit_body({**GOOD_VISIT, "greet": {"value": "no", "comment": URL}}, location="l9")
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    response = server.get(f"/manage/audits/{body['id']}.pdf", "manager_r1")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    lines, right = [], []
    for page in reader.pages:
        width = float(page.mediabox.width)

        def seen(text, cm, tm, font, size, width=width):
            if text.strip():
                lines.append(text)
                piece = text.strip().strip("“”")
                if piece and (piece in URL or piece in NAME):
                    # where the run starts and ends: DejaVu Sans draws these letters and digits at most 0.64 em wide
                    right.append((tm[4] * cm[0] + cm[4], len(piece) * size * 0.64 * tm[0] * cm[0], width))

        page.extract_text(visitor_text=seen)
    joined = re.sub(r"\s+", "", "".join(lines))
    assert URL in joined and NAME in joined  # every character is printed
    pieces = [line for line in lines if line.strip() and line.strip().strip("“”") and line.strip().strip("“”") in URL]
    assert len(pieces) >= 3, pieces  # broken over several lines, not one line 300 characters long
    assert len(right) >= len(pieces)
    for start, length, width in right:
        assert 0 <= start and start + length <= width + 1, (start, length, width)
