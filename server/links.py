"""Links that leave the server (a campaign's join link, its QR code and poster; mails to come) are
built on the installation's public address, the setting TOUCHPOINT_PUBLIC_URL: the address the
admin happens to browse with (`http://127.0.0.1:8100`) is useless on a poster. Without the setting
they fall back to that address, and the pages that show such a link say so."""

from litestar import Request

from server.settings import Settings


def public_base(settings: Settings, request: Request) -> str:
    """Where people reach this server from outside: the setting, or (unset) the address of this request."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def outside(settings: Settings, request: Request, path: str) -> str:
    """The absolute link to `path` (starting with /) for someone who is not on this page."""
    return public_base(settings, request) + path


def warning(settings: Settings, request: Request) -> str | None:
    """What a page that shows such links says while the public address is not set, or None."""
    if settings.public_url:
        return None
    return (f"These links use the address you are browsing with ({public_base(settings, request)}), which people elsewhere may not "
            "reach. Set the public address (TOUCHPOINT_PUBLIC_URL, e.g. https://touchpoint.example.com) and restart, "
            "so posters and QR codes carry the address everyone can open.")
