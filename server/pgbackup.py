"""Backups of a PostgreSQL installation (issue 28): the same checked tar file as a SQLite backup
(server/backup.py: a manifest with the database's hash, and both images of every photo the database
names), holding pg_dump's custom format instead of the SQLite file; restored into an empty
PostgreSQL database with pg_restore.

One snapshot for both halves: a REPEATABLE READ transaction exports its snapshot
(`pg_export_snapshot()`), pg_dump dumps exactly that snapshot (`--snapshot`), and the photos the
archive takes are listed in the same transaction, so the dump and the images are a consistent pair
however the server writes meanwhile (it is never blocked). A photo file pruned between the snapshot
and its copy (allowed only for audits that never arrived, as for SQLite) is named in the manifest's
`left_out`, and restore deletes its rows. The password of the URL is handed to pg_dump and
pg_restore in PGPASSWORD, never on their command line.
"""

import datetime as dt
import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import msgspec

from server import db as dbmod
from server import pgbin
from server.backup import IMAGES, LISTERS, MANIFEST, BackupError, Manifest, add_bytes, add_photos, adopt_photos, archive, check, only_pruned, sha256_of
from server.migrations import STEPS_TABLE
from server.photos.storage import SIZES
from server.photos.store import PhotoStore

DUMP = "touchpoint.pgdump"
PROGRAMS = ("pg_dump", "pg_restore")


def backup(url: str, photos: PhotoStore, target: Path, progress=print) -> Manifest:
    """Write the backup of the PostgreSQL database at `url` and its photos to `target` (a new file) and check it."""
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new name, a backup never overwrites one")
    programs = _programs()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        dump = Path(work) / DUMP
        db = dbmod.connect(url)
        try:
            if db.execute("SELECT to_regclass(?)", [STEPS_TABLE]).fetchone()[0] is None:
                raise BackupError(f"no Touchpoint database at {_shown(url)} (no {STEPS_TABLE} table)")
            db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            (snapshot,) = db.execute("SELECT pg_export_snapshot()").fetchone()
            progress(f"  pg_dump of {_shown(url)} ...")
            _run(programs / "pg_dump", url, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}")
            files = sorted({row[0] for row in db.execute(IMAGES)})
            with archive(target) as tar:
                missing = add_photos(tar, photos, files, progress)
                if missing:  # pruned since the snapshot: allowed only for photos of audits that never arrived
                    only_pruned(db, missing)
                manifest = Manifest(
                    made_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    audits=db.execute("SELECT COUNT(*) FROM audits").fetchone()[0],
                    photos=_photo_rows(db, missing),
                    files=(len(files) - len(missing)) * len(SIZES),
                    database_sha256=sha256_of(dump),
                    schema=[name for (name,) in db.execute(f"SELECT name FROM {STEPS_TABLE} ORDER BY name")],
                    action_photos=True, engine="postgresql", left_out=missing)
                tar.add(dump, DUMP)
                add_bytes(tar, MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
        finally:
            db.close()  # ends the snapshot's transaction
    check(target)
    return manifest


def _photo_rows(db, missing: list[str]) -> int:
    """The photos the backup holds: the snapshot's, less those whose files were pruned since."""
    (rows,) = db.execute("SELECT COUNT(*) FROM photos").fetchone()
    if missing:
        rows -= db.execute(f"SELECT COUNT(*) FROM photos WHERE file IN ({','.join('?' * len(missing))})", missing).fetchone()[0]
    return rows


def listed(archive: Path, tar: tarfile.TarFile, manifest: Manifest) -> list[str]:
    """The photo files a PostgreSQL backup's dump names (less those left out), the dump checked
    first: its hash, and pg_restore reading its table of contents and the two tables' rows."""
    programs = _programs()
    with tempfile.TemporaryDirectory() as work:
        tar.extract(DUMP, work, filter="data")
        dump = Path(work) / DUMP
        if sha256_of(dump) != manifest.database_sha256:
            raise BackupError(f"{archive}: the database dump does not match the hash its manifest recorded")
        _run(programs / "pg_restore", None, "--list", str(dump), what=f"{archive}: the database dump is damaged")
        rows = _run(programs / "pg_restore", None, "--data-only", "--table=photos", "--table=actions", "--file=-", str(dump),
                    what=f"{archive}: the database dump is damaged")
    named = _copied_column(rows, "photos", "file") | (_copied_column(rows, "actions", "photo") - {None})
    return sorted(named - set(manifest.left_out))


def restore(archive: Path, url: str, photos: PhotoStore) -> Manifest:
    """Check a backup, put its photos into the store, then restore its dump into the empty
    PostgreSQL database at `url` in one transaction (last: the database holds data only once all of it is there)."""
    programs = _programs()
    manifest = check(archive)
    if manifest.engine != "postgresql":
        raise BackupError(f"{archive} is a backup of a SQLite installation: restore it into a data folder without "
                          "TOUCHPOINT_DATABASE_URL, then move it over with touchpoint move-to-postgres")
    db = dbmod.connect(url)
    try:
        if tables := db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0]:
            raise BackupError(f"{_shown(url)} holds {tables} tables: restore into an empty PostgreSQL database of its own (createdb)")
        with tempfile.TemporaryDirectory() as work:
            with tarfile.open(archive, "r") as tar:
                tar.extractall(work, filter="data")  # refuses absolute paths, '..' and links out of the folder
            adopt_photos(Path(work) / "photos", photos)
            _run(programs / "pg_restore", url, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                 str(Path(work) / DUMP), what=f"pg_restore into {_shown(url)} failed (nothing was restored)")
        if manifest.left_out:
            with dbmod.write(db):
                db.execute(f"DELETE FROM photos WHERE file IN ({','.join('?' * len(manifest.left_out))})", manifest.left_out)
    finally:
        db.close()
    return manifest


COPY = re.compile(r"^COPY (?:\S+\.)?\"?(\w+)\"? \((.*)\) FROM stdin;$")


def _copied_column(text: str, table: str, column: str) -> set[str | None]:
    """One column's values of a table's rows in pg_restore's plain output (COPY ... FROM stdin, tab
    separated, \\N for NULL, ended by \\.); the values are photo names, which hold no escapes."""
    values: set[str | None] = set()
    lines = iter(text.splitlines())
    for line in lines:
        if (m := COPY.match(line)) and m.group(1) == table:
            at = [c.strip().strip('"') for c in m.group(2).split(",")].index(column)
            for row in lines:
                if row == "\\.":
                    break
                value = row.split("\t")[at]
                values.add(None if value == "\\N" else value)
    return values


def _programs():
    try:
        return pgbin.bin_folder(PROGRAMS)
    except pgbin.Missing as exc:
        raise BackupError(f"a PostgreSQL installation is backed up and restored with pg_dump and pg_restore: {exc}") from None


def _run(program: Path, url: str | None, *args: str, what: str = "") -> str:
    """Run a PostgreSQL program on `url` (the password in PGPASSWORD); its output, or BackupError with its message."""
    env = dict(os.environ)
    command = [str(program), *args]
    if url is not None:
        parts = urlsplit(url)
        if parts.password is not None:
            env["PGPASSWORD"] = unquote(parts.password)
        user, _, host = parts.netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}" if user else host
        command.insert(1, f"--dbname={urlunsplit(parts._replace(netloc=netloc))}")
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise BackupError(f"{what or program.name + ' failed'}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _shown(url: str) -> str:
    return url.rsplit("@", 1)[-1]


LISTERS["postgresql"] = listed
