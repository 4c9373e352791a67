"""Settings: one frozen Struct, read from the environment once and overridden by CLI flags."""

import os
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit
from typing import Annotated, NamedTuple
from pathlib import Path

import msgspec
from msgspec import Meta


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data: Path = Path("data")
    """Folder for the database and photos ($TOUCHPOINT_DATA)."""
    database_url: str = ""
    """A PostgreSQL database to keep everything in instead of the SQLite file in the data folder: `postgresql://user:password@host:5432/touchpoint` (the password percent-encoded); empty, the default: SQLite ($TOUCHPOINT_DATABASE_URL)."""
    read_database_url: str = ""
    """A read-only standby of TOUCHPOINT_DATABASE_URL's PostgreSQL (streaming replication) that may serve the managers' figures: `postgresql://user:password@standby:5432/touchpoint`; empty, the default: every read goes to the primary ($TOUCHPOINT_READ_DATABASE_URL)."""
    read_lag_seconds: Annotated[float, Meta(gt=0)] = 30.0
    """A standby further behind its primary than this many seconds is not read; its reads go to the primary ($TOUCHPOINT_READ_LAG_SECONDS)."""
    checklists: Path = Path("checklists")
    """Folder of brands, one subfolder each ($TOUCHPOINT_CHECKLISTS)."""
    host: str = "127.0.0.1"
    """Address `serve` and `demo` listen on ($TOUCHPOINT_HOST)."""
    port: int = 8000
    """Port `serve` and `demo` listen on ($TOUCHPOINT_PORT)."""
    workers: Annotated[int, Meta(ge=0, le=64)] = 0
    """Server processes `serve` and `demo` run on the one port; 0, the default: the machine's cores, at most 4 ($TOUCHPOINT_WORKERS)."""
    session_hours: int = 24 * 14
    """How long a browser sign-in lasts ($TOUCHPOINT_SESSION_HOURS)."""
    max_photo_bytes: int = 15 * 1024 * 1024
    """Largest photo upload accepted, in bytes; larger ones get 413 ($TOUCHPOINT_MAX_PHOTO_BYTES)."""
    orphan_photo_days: int = 30
    """Photos of an audit that has not arrived this many days after upload are deleted ($TOUCHPOINT_ORPHAN_PHOTO_DAYS)."""
    prune_seconds: Annotated[float, Meta(ge=1)] = 3600
    """How often those photos are looked for and deleted, once in the whole installation ($TOUCHPOINT_PRUNE_SECONDS)."""
    photos_url: str = ""
    """Where photo images are kept: empty, the default: the photos folder in the data folder; `s3://bucket/prefix`: that prefix of an S3-compatible bucket (AWS, MinIO, Garage), which must exist; credentials and region from boto3's own AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION ($TOUCHPOINT_PHOTOS_URL)."""
    s3_endpoint: str = ""
    """The S3 server of TOUCHPOINT_PHOTOS_URL's bucket, e.g. `http://127.0.0.1:9000` for MinIO; empty, the default: AWS ($TOUCHPOINT_S3_ENDPOINT)."""
    photo_worker_mb: int = 1024
    """Address space each of the two photo workers may take, in MiB ($TOUCHPOINT_PHOTO_WORKER_MB)."""
    audit_max_age_days: int = 365
    """An audit finished longer ago than this is refused ($TOUCHPOINT_AUDIT_MAX_AGE_DAYS)."""

    webhook_attempts: int = 8
    """Tries of one webhook delivery before it is marked failed ($TOUCHPOINT_WEBHOOK_ATTEMPTS)."""
    webhook_retry_seconds: float = 30.0
    """Wait before the first retry of a webhook delivery; doubled each time, with jitter ($TOUCHPOINT_WEBHOOK_RETRY_SECONDS)."""
    webhook_poll_seconds: float = 1.0
    """How often the sender looks for deliveries due ($TOUCHPOINT_WEBHOOK_POLL_SECONDS)."""
    joins_per_minute: Annotated[int, Meta(ge=1)] = 60
    """Campaign joins taken from one address in a minute; more wait ($TOUCHPOINT_JOINS_PER_MINUTE)."""
    public_url: str = ""
    """The address people reach this server at, for links that leave it: posters, QR codes ($TOUCHPOINT_PUBLIC_URL)."""

    # --- how the server meets the network (issue 23) ---
    trusted_proxies: str = ""
    """Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed, comma-separated (`127.0.0.1`, `10.0.0.0/8`, `*`); empty, the default: none, so a client's address is the one it connects from ($TOUCHPOINT_TRUSTED_PROXIES)."""
    body_seconds: Annotated[int, Meta(ge=1, le=3600)] = 120
    """A request's body must arrive within this many seconds of its headers, or it is answered 408 (a 15 MB photo at 1 Mbit/s takes 120) ($TOUCHPOINT_BODY_SECONDS)."""

    # what one person, a stalled client or a webhook receiver may take of the server (issue 23, 11)
    photos_per_hour: Annotated[int, Meta(ge=1)] = 300
    """Photos one person may upload in an hour for audits that have not arrived; more get 429 ($TOUCHPOINT_PHOTOS_PER_HOUR)."""
    photo_mb_per_hour: Annotated[int, Meta(ge=1)] = 200
    """MiB of stored images one person's photos for audits not arrived may take in an hour; more get 429 ($TOUCHPOINT_PHOTO_MB_PER_HOUR)."""
    export_write_timeout_seconds: Annotated[float, Meta(gt=0)] = 30.0
    """A CSV export whose client takes no data for this long is abandoned and its snapshot closed ($TOUCHPOINT_EXPORT_WRITE_TIMEOUT_SECONDS)."""
    heavy_per_person: Annotated[int, Meta(ge=1)] = 2
    """Heavy requests (CSV exports, PDFs, the Pareto and region pages) one person may have running at once, counted in the database across every server process; more get 429 with Retry-After ($TOUCHPOINT_HEAVY_PER_PERSON)."""
    report_workers: Annotated[int, Meta(ge=1)] = 2
    """Worker processes for PDFs and the heavy pages' figures, at a lower priority than the server ($TOUCHPOINT_REPORT_WORKERS)."""
    export_workers: Annotated[int, Meta(ge=1)] = 2
    """Worker processes that make CSV exports, one export each at a time (more wait their turn), at a lower priority than the server ($TOUCHPOINT_EXPORT_WORKERS)."""
    webhook_timeout_seconds: Annotated[float, Meta(gt=0)] = 10.0
    """Total time one webhook attempt may take, connecting to reading the answer ($TOUCHPOINT_WEBHOOK_TIMEOUT_SECONDS)."""
    webhook_allow_networks: str = ""
    """Comma-separated networks (CIDR) webhooks may reach although not public, e.g. 127.0.0.0/8 ($TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS)."""

    # --- mail (issue 25) ---
    smtp_url: str = ""
    """The SMTP server mail goes through: `smtp://user:pass@host:587` (STARTTLS, required with a password), `smtps://user:pass@host:465` (TLS from the start) or `smtp://host:25` (a local relay, no sign-in); the password percent-encoded; empty, the default: no mail is sent, and admins see what would have gone at /manage/mail ($TOUCHPOINT_SMTP_URL)."""
    mail_from: str = ""
    """The sender address of Touchpoint's mail, e.g. `Touchpoint <touchpoint@example.com>`; needed with an SMTP server ($TOUCHPOINT_MAIL_FROM)."""

    @property
    def smtp(self) -> "SmtpServer | None":
        """The SMTP server parsed from smtp_url (checked at start), or None without one."""
        return smtp_server(self.smtp_url) if self.smtp_url else None

    @property
    def processes(self) -> int:
        """How many server processes to run: `workers`, or for 0 the machine's cores (at most 4)."""
        return self.workers or max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))

    def environment(self) -> dict[str, str]:
        """These settings as TOUCHPOINT_* variables: from them `from_env` makes these settings again
        (how `serve --workers` hands its settings to the processes it starts)."""
        return {f"TOUCHPOINT_{field.name.upper()}": str(getattr(self, field.name)) for field in msgspec.structs.fields(self)}

    @property
    def database(self) -> Path:
        """The SQLite file, and beside it the locks of the processes of this machine (kept on PostgreSQL too)."""
        return self.data / "touchpoint.db"

    @property
    def store(self) -> Path | str:
        """Where the data is: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.database

    @property
    def on_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def photos(self) -> Path:
        return self.data / "photos"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then TOUCHPOINT_* variables, then explicit overrides (CLI flags) where not None."""
        values = {}
        for field in msgspec.structs.fields(cls):
            env = os.environ.get(f"TOUCHPOINT_{field.name.upper()}")
            if env is not None:
                values[field.name] = env
        values.update({k: str(v) if isinstance(v, Path) else v for k, v in overrides.items() if v is not None})
        try:
            settings = msgspec.convert(values, cls, strict=False, dec_hook=_path)
        except msgspec.ValidationError as exc:
            name = str(exc).rsplit("$.", 1)[-1].rstrip("`")
            raise SettingsError(f"TOUCHPOINT_{name.upper()} / --{name}: {str(exc).split(' - at ')[0].lower()}") from None
        if settings.database_url and not postgres_url(settings.database_url):
            raise SettingsError("TOUCHPOINT_DATABASE_URL: expected a PostgreSQL database like postgresql://user:password@host:5432/touchpoint "
                                "(scheme postgresql, a database name after the host); leave it empty for SQLite")
        if settings.read_database_url and not settings.database_url:
            raise SettingsError("TOUCHPOINT_READ_DATABASE_URL: a standby is read only beside its PostgreSQL primary: "
                                "set TOUCHPOINT_DATABASE_URL to the primary too, or leave TOUCHPOINT_READ_DATABASE_URL empty")
        if settings.read_database_url and not postgres_url(settings.read_database_url):
            raise SettingsError("TOUCHPOINT_READ_DATABASE_URL: expected a PostgreSQL standby like postgresql://user:password@standby:5432/touchpoint "
                                "(scheme postgresql, a database name after the host); leave it empty to read from the primary")
        parts = urlsplit(settings.public_url)
        if settings.public_url and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
                                    or any(c.isspace() for c in settings.public_url)):
            raise SettingsError("TOUCHPOINT_PUBLIC_URL / --public-url: expected an address like https://touchpoint.example.com "
                                f"(http or https, a host, no query), got {settings.public_url!r}")
        if settings.photos_url:
            try:
                bucket_of(settings.photos_url)
            except ValueError as exc:
                raise SettingsError(f"TOUCHPOINT_PHOTOS_URL: {exc}") from None
        endpoint = urlsplit(settings.s3_endpoint)
        if settings.s3_endpoint and (endpoint.scheme not in ("http", "https") or not endpoint.hostname or endpoint.path not in ("", "/")
                                     or endpoint.query or endpoint.fragment):
            raise SettingsError(f"TOUCHPOINT_S3_ENDPOINT: expected the S3 server's address like http://127.0.0.1:9000 (http or https, a host, no path), "
                                f"got {settings.s3_endpoint!r}")
        if settings.s3_endpoint and not settings.photos_url:
            raise SettingsError("TOUCHPOINT_S3_ENDPOINT is set but TOUCHPOINT_PHOTOS_URL is not: photos would go to the data folder; "
                                "set TOUCHPOINT_PHOTOS_URL=s3://bucket/prefix, or unset TOUCHPOINT_S3_ENDPOINT")
        if settings.smtp_url:
            try:
                smtp_server(settings.smtp_url)
            except ValueError as exc:
                raise SettingsError(f"TOUCHPOINT_SMTP_URL: {exc}") from None
            if not settings.mail_from:
                raise SettingsError("TOUCHPOINT_MAIL_FROM: expected the sender address of the mail, "
                                    "e.g. 'Touchpoint <touchpoint@example.com>': TOUCHPOINT_SMTP_URL is set, so mail is sent")
        if settings.mail_from and not _mail_address(settings.mail_from):
            raise SettingsError("TOUCHPOINT_MAIL_FROM: expected an address like touchpoint@example.com "
                                f"or 'Touchpoint <touchpoint@example.com>', got {settings.mail_from!r}")
        return settings


class SettingsError(Exception):
    pass


def postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database: scheme postgresql (or postgres) and a database name after the host."""
    return urlsplit(url).scheme in ("postgresql", "postgres") and bool(urlsplit(url).path.strip("/"))


class SmtpServer(NamedTuple):
    """Where mail goes: `tls` is "starttls" (smtp://) or "tls" (smtps://); the password decoded.
    Its repr leaves the password out, so a log line or a page never shows it."""
    tls: str
    host: str
    port: int
    user: str
    password: str

    def __repr__(self) -> str:
        return f"SmtpServer(tls={self.tls!r}, host={self.host!r}, port={self.port}, user={self.user!r})"

    def shown(self) -> str:
        """What a page may say about it: the scheme, host and port, never the credentials."""
        return f"{'smtps' if self.tls == 'tls' else 'smtp'}://{self.host}:{self.port}"


def smtp_server(url: str) -> SmtpServer:
    """Parse TOUCHPOINT_SMTP_URL; a ValueError saying what was expected (never echoing the password)."""
    expected = "expected smtp://user:password@host:587, smtps://user:password@host:465 or smtp://host:25"
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"{expected}; the scheme must be smtp or smtps, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ValueError(f"{expected}; no host is given")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{expected}; the port must be a number from 1 to 65535") from None
    if port == 0 or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{expected}; " + ("the port must be a number from 1 to 65535" if port == 0 else "nothing may follow the host and port"))
    if (parts.password is None) != (parts.username is None) or parts.username == "":
        raise ValueError(f"{expected}; a user name needs its password and a password its user name")
    return SmtpServer(tls="tls" if parts.scheme == "smtps" else "starttls", host=parts.hostname, port=port or (465 if parts.scheme == "smtps" else 25),
                      user=unquote(parts.username or ""), password=unquote(parts.password or ""))


def bucket_of(url: str) -> tuple[str, str]:
    """(bucket, prefix ending in '/' or empty) of s3://bucket/prefix; a ValueError saying what was expected."""
    expected = "expected s3://bucket or s3://bucket/prefix"
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ValueError(f"{expected}; the scheme must be s3, got {parts.scheme or 'none'!r}")
    if not parts.netloc or parts.username or parts.port or parts.query or parts.fragment or any(c.isspace() for c in url):
        raise ValueError(f"{expected} (no credentials, port or query: the endpoint is TOUCHPOINT_S3_ENDPOINT, credentials AWS_ACCESS_KEY_ID "
                         f"and AWS_SECRET_ACCESS_KEY), got {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def _mail_address(value: str) -> str:
    """The bare address in a From value ('Name <a@b.c>' or 'a@b.c'), or '' when it is not one."""
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return address if at and local and "." in domain.strip(".") and not any(c.isspace() for c in address) else ""


def _path(kind: type, value: object) -> Path:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise TypeError(f"settings hold no {kind.__name__}")  # msgspec reports it as a bad value

