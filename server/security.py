"""Headers every response carries, so a browser holds the pages to what they are: the app's own
scripts and styles only, never framed, no MIME sniffing, no referrer to other sites, https kept
once used. The API viewer at /schema is served from the package's own copy of Redoc."""

from pathlib import Path

from litestar import Request
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.types import Message, Scope

REDOC = Path(__file__).parent / "static" / "redoc"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
       "worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
# Redoc sets its styles from script and searches in a worker made from a blob: the viewer's page only
VIEWER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace("worker-src 'self'", "worker-src 'self' blob:")
HSTS = "max-age=31536000"


def headers_for(scope: Scope) -> list[tuple[bytes, bytes]]:
    viewer = scope["path"] == "/schema" or scope["path"].startswith("/schema/redoc")
    found = [
        (b"content-security-policy", (VIEWER_CSP if viewer else CSP).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        # pages, exports, PDFs and JSON are someone's data: never kept by a shared cache or on disk; the
        # app's files and icons, and photos, say how they may be cached (they carry their own header)
        (b"cache-control", b"private, no-store"),
    ]
    if scope.get("scheme") == "https":
        found.append((b"strict-transport-security", HSTS.encode()))
    return found


async def add_headers(message: Message, scope: Scope) -> None:
    """litestar's before_send hook: it sees every response the app sends, errors and 404s included."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", []))
        present = {name.lower() for name, _ in headers}
        message["headers"] = headers + [(name, value) for name, value in headers_for(scope) if name not in present]


class LocalRedoc(RedocRenderPlugin):
    """Redoc from the package's own files (no CDN, no Google fonts), started by its <redoc> element
    rather than an inline script, so the page keeps the content security policy."""

    def __init__(self) -> None:
        super().__init__(path="/", js_url="/schema/redoc/redoc.standalone.js", google_fonts=False)

    def render(self, request: Request, openapi_schema: dict) -> bytes:
        title = openapi_schema["info"]["title"]
        return (f'<!DOCTYPE html><html><head><title>{title} API</title><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
                f'<body><redoc spec-url="/schema/openapi.json"></redoc><script src="{self.js_url}"></script></body></html>').encode()
