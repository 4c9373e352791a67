"""The join link as a QR code, made on the server with segno: SVG for pages and posters (sharp at
any size, printed or on a screen), PNG for chat messages and slides."""

import io

import segno


def _code(url: str) -> segno.QRCode:
    return segno.make_qr(url, error="m")  # medium error correction: still reads with a crease or a glare on the poster


def svg(url: str, scale: int = 8, title: str = "Join link as a QR code") -> str:
    """An inline SVG (no XML declaration), dark modules on white, with the quiet zone."""
    out = io.BytesIO()
    _code(url).save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, title=title, nl=False, svgclass="qr", lineclass=None, omitsize=True)
    return out.getvalue().decode()


def png(url: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=scale)
    return out.getvalue()
