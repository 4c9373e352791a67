"""Backups: one tar file holding a consistent copy of the database and the photos it refers to,
made while the server runs; and restoring one into an empty data folder.

The database is copied with `VACUUM INTO`, a read transaction: a snapshot as of one moment that
never blocks the writer. Photo files never change once written (they are named by their content),
so copying those the snapshot refers to, after it, from the folder or the bucket, gives a
consistent pair. A photo of an audit
that never arrived may be pruned between the two; it is then left out of the copy as well.
Every backup is checked before it is called done: the copy's `integrity_check`, and every photo it
lists present in the archive.
"""

import datetime as dt
import hashlib
import io
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from server.photos.storage import SIZES, name as photo_name
from server.photos.store import Folder, PhotoStore

DATABASE = "touchpoint.db"
# every image the database names: its audits' photos and its closed actions' photos
IMAGES = "SELECT file FROM photos UNION SELECT photo FROM actions WHERE photo IS NOT NULL"
MANIFEST = "backup.json"


class BackupError(Exception):
    pass


class Manifest(msgspec.Struct, kw_only=True):
    made_at: str
    audits: int
    photos: int
    files: int
    database_sha256: str
    schema: list[str]  # the migrations applied, in order
    action_photos: bool = False  # closed actions' photos are in it too (backups made before held only the audits')
    engine: str = "sqlite"  # "postgresql": the database is pg_dump's custom format (server/pgbackup.py)
    left_out: list[str] = []  # photos of audits that never arrived, pruned between a PostgreSQL snapshot and its copy: restore deletes their rows


@contextmanager
def archive(target: Path) -> Iterator[tarfile.TarFile]:
    """The backup's tar file, written as `target`.part and renamed to `target` only once whole; on any
    failure the part is removed, so a backup file is either whole or absent (both engines)."""
    partial = target.with_name(target.name + ".part")
    try:
        with tarfile.open(partial, "w") as tar:
            yield tar
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)


def backup(database: Path, photos: PhotoStore, target: Path, progress=print) -> Manifest:
    """Write the backup to `target` (a new file; it never overwrites one) and check it. The photos
    come from their store, the folder or the bucket, into the archive alike."""
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new name, a backup never overwrites one")
    if not database.is_file():
        raise BackupError(f"no Touchpoint database at {database}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        snapshot = Path(work) / DATABASE
        source = sqlite3.connect(database)
        try:
            source.execute("VACUUM INTO ?", [str(snapshot)])
        finally:
            source.close()
        copy = sqlite3.connect(snapshot)
        try:
            files = sorted({row[0] for row in copy.execute(IMAGES)})
            with archive(target) as tar:
                missing = add_photos(tar, photos, files, progress)
                if missing:  # pruned since the snapshot: allowed only for photos of audits that never arrived
                    only_pruned(copy, missing)
                    marks = ",".join("?" * len(missing))
                    copy.execute(f"DELETE FROM photos WHERE file IN ({marks})", missing)
                copy.commit()
                manifest = Manifest(
                    made_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    audits=copy.execute("SELECT COUNT(*) FROM audits").fetchone()[0],
                    photos=copy.execute("SELECT COUNT(*) FROM photos").fetchone()[0],
                    files=(len(files) - len(missing)) * len(SIZES),
                    database_sha256="",
                    schema=[row[0] for row in copy.execute("SELECT name FROM _sqlite_migrations ORDER BY id")],
                    action_photos=True,
                )
                copy.close()
                manifest.database_sha256 = sha256_of(snapshot)
                tar.add(snapshot, DATABASE)
                add_bytes(tar, MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
        finally:
            copy.close()
    check(target)
    return manifest


def add_photos(tar: tarfile.TarFile, photos: PhotoStore, files: list[str], progress) -> list[str]:
    """Both images of each photo file into the archive, from the folder or the bucket; the files
    the store no longer has."""
    missing = []
    for n, file in enumerate(files, 1):
        images = {size: photos.read(photo_name(file, size)) for size in SIZES}  # two images of a few hundred KB
        if None in images.values():
            missing.append(file)
            continue
        for size, data in images.items():
            add_bytes(tar, f"photos/{photo_name(file, size)}", data)
        if n % 500 == 0:
            progress(f"  {n:,} of {len(files):,} photos copied")
    return missing


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# How each engine's backup names its photo files, by the manifest's `engine`: SQLite's here,
# PostgreSQL's added by server/pgbackup.py as it is imported (it builds on this module; server/cli.py imports both).
LISTERS: dict = {}


def check(archive: Path) -> Manifest:
    """Open a backup and make sure it is whole: its manifest, its database's hash and integrity,
    and every photo the database lists. Returns the manifest."""
    try:
        with tarfile.open(archive, "r") as tar:
            names = set(tar.getnames())
            manifest = msgspec.json.decode(tar.extractfile(MANIFEST).read(), type=Manifest)
            if manifest.engine not in LISTERS:
                raise BackupError(f"{archive}: a backup of a {manifest.engine} database; this Touchpoint reads only {', '.join(LISTERS)}")
            files = LISTERS[manifest.engine](archive, tar, manifest)
    except (tarfile.TarError, KeyError, OSError, msgspec.DecodeError) as exc:
        raise BackupError(f"{archive}: not a whole Touchpoint backup ({exc})") from None
    absent = [f"photos/{f[:2]}/{f}.{size}.jpg" for f in files for size in SIZES if f"photos/{f[:2]}/{f}.{size}.jpg" not in names]
    if absent:
        raise BackupError(f"{archive}: {len(absent)} photo files the database lists are missing, e.g. {absent[0]}")
    return manifest


def _listed(archive: Path, tar: tarfile.TarFile, manifest: Manifest) -> list[str]:
    """The photo files a SQLite backup's database names, its copy checked first (hash, integrity)."""
    with tempfile.TemporaryDirectory() as work:
        tar.extract(DATABASE, work, filter="data")
        database = Path(work) / DATABASE
        if sha256_of(database) != manifest.database_sha256:
            raise BackupError(f"{archive}: the database does not match the hash its manifest recorded")
        db = sqlite3.connect(database)
        try:
            if (result := db.execute("PRAGMA integrity_check").fetchone()[0]) != "ok":
                raise BackupError(f"{archive}: the database copy is damaged: {result}")
            files = [row[0] for row in db.execute(IMAGES if manifest.action_photos else "SELECT DISTINCT file FROM photos")]
        finally:
            db.close()
    return files


def restore(archive: Path, data: Path, database_name: str = DATABASE, photos: PhotoStore | None = None) -> Manifest:
    """Unpack a checked backup into `data`, which must hold no database yet; its photos into
    `photos` (the data folder's photos folder when not given, or a bucket). An image the store
    holds already is the same image (named by its content) and is left as it is."""
    manifest = check(archive)
    if manifest.engine != "sqlite":
        raise BackupError(f"{archive} is a backup of a PostgreSQL installation: set TOUCHPOINT_DATABASE_URL to an empty "
                          "PostgreSQL database and restore it there")
    if (data / database_name).exists():
        raise BackupError(f"{data / database_name} exists: restore into an empty data folder (or move that one away first)")
    photos = photos or Folder(data / "photos")
    data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data) as work:
        with tarfile.open(archive, "r") as tar:
            tar.extractall(work, filter="data")  # refuses absolute paths, '..' and links out of the folder
        adopt_photos(Path(work) / "photos", photos)
        shutil.move(Path(work) / DATABASE, data / database_name)  # last: the folder holds data only once all is there
    return manifest


def adopt_photos(unpacked: Path, photos: PhotoStore) -> None:
    """The images of an unpacked backup into the store; one it holds already is the same image
    (named by its content) and is left as it is."""
    if unpacked.is_dir():
        for folder in unpacked.iterdir():
            for file in folder.iterdir():
                if not photos.has(name := f"{folder.name}/{file.name}"):
                    photos.adopt(name, file)


def only_pruned(db, missing: list[str]) -> None:
    """Photo files gone from the store since the snapshot (a connection of either engine holding
    it) may only be those of audits that never arrived, which pruning takes: else the store is
    incomplete, and the backup is refused."""
    marks = ",".join("?" * len(missing))
    if closed := db.execute(f"SELECT COUNT(*) FROM actions WHERE photo IN ({marks})", missing).fetchone()[0]:
        raise BackupError(f"{closed} closed actions' photos have no image in the photo store: it is incomplete")
    kept = db.execute(f"SELECT COUNT(*) FROM photos p WHERE file IN ({marks}) AND EXISTS (SELECT 1 FROM audits a WHERE a.id = p.audit)", missing).fetchone()[0]
    if kept:
        raise BackupError(f"{kept} photos of stored audits have no image file in the photos folder: the folder is incomplete")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LISTERS["sqlite"] = _listed
