"""Where PostgreSQL's programs are: pg_dump and pg_restore for the backups of a PostgreSQL
installation (server/pgbackup.py), initdb and postgres for the tests' own cluster (tests/postgres.py).

TOUCHPOINT_PG_BIN when set (and then only it), else `pg_config --bindir`, else the newest
/usr/lib/postgresql/<version>/bin (Debian keeps them off the PATH)."""

import os
import shutil
import subprocess
from pathlib import Path


class Missing(Exception):
    """The programs asked for are in none of the places looked in; the message says which and how to install them."""


def candidates() -> list[str]:
    if chosen := os.environ.get("TOUCHPOINT_PG_BIN"):
        return [chosen]
    found = []
    if pg_config := shutil.which("pg_config"):
        found.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    return [c for c in found + [str(path) for path in reversed(versions)] if c]


def bin_folder(needs: tuple[str, ...] = ("pg_dump", "pg_restore")) -> Path:
    """The first folder of `candidates()` holding every program of `needs`."""
    looked = candidates()
    for candidate in looked:
        if all((Path(candidate) / program).exists() for program in needs):
            return Path(candidate)
    raise Missing(f"no {' and '.join(needs)} in {', '.join(looked) or 'any known place'}: install PostgreSQL's programs "
                  "(on Debian or Ubuntu `apt-get install postgresql-client`; the same major version as the server, or newer) "
                  "or set TOUCHPOINT_PG_BIN to the folder holding them")
