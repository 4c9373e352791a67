"""The `touchpoint` command: check checklists, score an audit offline (and, later, serve)."""

import argparse
import sys
import threading
from pathlib import Path

import msgspec

from server.checklists import ChecklistError, load_brands, parse_brand, parse_checklist
from server.checklists.scoring import AuditRefused, parse_answers, score_audit
from server.settings import Settings, SettingsError

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


def cmd_check(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else Settings.from_env(checklists=args.checklists).checklists
    try:
        brands = load_brands(root)
    except ChecklistError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} in {root}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for loaded in brands.values():
        counts = ", ".join(f"{t} ({len(c.checklist.items())} items, version {c.version})" for t, c in loaded.checklists.items())
        print(f"{loaded.brand.id}: ok: {counts}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    checklist_path = Path(args.checklist)
    brand_path = checklist_path.parent / "brand.yaml"
    try:
        brand = parse_brand(_read(brand_path), f"{checklist_path.parent.name}/brand.yaml")
        loaded = parse_checklist(_read(checklist_path), brand, checklist_path.name)
    except ChecklistError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        audit = msgspec.json.decode(_read(Path(args.audit)))
    except msgspec.DecodeError as exc:
        print(f"{args.audit}: not valid JSON: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not isinstance(audit, dict) or "answers" not in audit:
        print(f"{args.audit}: expected an audit object with an \"answers\" field", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = score_audit(brand, loaded, parse_answers(audit["answers"]))
    except AuditRefused as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_REFUSED
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(result)).decode() + "\n")
    return 0


class _Unreadable(Exception):
    pass


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _Unreadable(f"{path}: cannot read: {exc.strerror}") from None


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(data=args.data, checklists=args.checklists, host=getattr(args, "host", None), port=getattr(args, "port", None),
                             workers=getattr(args, "workers", None), public_url=getattr(args, "public_url", None))


def _database(args: argparse.Namespace):
    """The data folder's database, made and migrated if new: for commands that set up data."""
    from server.migrations import open_database

    return open_database(_settings(args).store)


class _Elsewhere(Exception):
    """The command was run where there is nothing for it: it says where it looked, having made nothing."""


def _existing_database(args: argparse.Namespace):
    """The data folder's database, for commands that only read data: never creates one."""
    from server.migrations import open_database

    settings = _settings(args)
    if not settings.on_postgres and not settings.database.is_file():
        raise _Elsewhere(
            f"{args.command}: no Touchpoint data in {settings.data.resolve()} (looked for {settings.database.name} there). "
            "Run touchpoint from the folder that holds your data folder, or point at it with --data DIR or TOUCHPOINT_DATA."
        )
    return open_database(settings.store)


def _brands(settings: Settings, command: str):
    """The brands, checked before anything is written: a wrong folder creates nothing."""
    from server import shipped

    if not settings.checklists.is_dir():
        raise _Elsewhere(
            f"{command}: no checklists folder at {settings.checklists.resolve()}. Run touchpoint from the repository "
            "root (the folder with checklists/ in it), or point at the brands with --checklists DIR or "
            f"TOUCHPOINT_CHECKLISTS (the demo brand installed with Touchpoint: --checklists {shipped.DEMO_CHECKLISTS}). Nothing was created."
        )
    return load_brands(settings.checklists)


def cmd_user_add(args: argparse.Namespace) -> int:
    from server.accounts.accounts import AccountError, add_user

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    try:
        made = add_user(_database(args), args.name, args.role, args.region or [], password, args.location)
    except AccountError as exc:
        print(f"user add: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if password is None:
        print(f"{args.name} ({args.role}) added; password: {made}")
    else:
        print(f"{args.name} ({args.role}) added")
    return 0


def cmd_token_add(args: argparse.Namespace) -> int:
    from server.accounts.accounts import AccountError, new_token, user_by_name

    db = _existing_database(args)
    user = user_by_name(db, args.name)
    if user is None:
        print(f"token add: no user called {args.name!r} (add one with: touchpoint user add NAME --role ROLE)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        print(new_token(db, user, days=args.days, label=args.label))
    except AccountError as exc:
        print(f"token add: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    import datetime as dt

    from server.accounts.accounts import tokens

    now = dt.datetime.now(dt.UTC)
    found = tokens(_existing_database(args), args.name)
    if not found:
        print("no tokens" + (f" for {args.name}" if args.name else ""))
        return 0
    print(f"{'id':>4}  {'user':<16} {'state':<8} {'created':<10}  {'expires':<10}  {'last used':<16}  label")
    for t in found:
        used = t.last_used_at[:16].replace("T", " ") if t.last_used_at else "never"
        print(f"{t.id:>4}  {t.user:<16} {t.state(now):<8} {t.created_at[:10]}  {t.expires_at[:10]}  {used:<16}  {t.label}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from server.accounts.accounts import AccountError, revoke_token

    try:
        token = revoke_token(_existing_database(args), args.id)
    except AccountError as exc:
        print(f"token revoke: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"token {token.id} of {token.user} revoked at {token.revoked_at[:19].replace('T', ' ')} UTC")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    from server.accounts.accounts import AccountError, disable_user

    try:
        ended, revoked = disable_user(_existing_database(args), args.name)
    except AccountError as exc:
        print(f"user disable: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.name} disabled: {ended} session{'s' if ended != 1 else ''} ended, {revoked} token{'s' if revoked != 1 else ''} revoked; their audits stay")
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    from server.accounts.accounts import AccountError, enable_user

    try:
        enable_user(_existing_database(args), args.name)
    except AccountError as exc:
        print(f"user enable: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.name} may sign in again (tokens revoked before stay revoked)")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from server.people import people

    found = people.listing(_existing_database(args), people.COMMAND_LINE, args.search or "", args.role, args.region, limit=None)
    if not found.people:
        print("nobody matches")
        return 0
    print(f"{'name':<24} {'role':<8} {'regions or location':<24} {'state':<9} last sign-in")
    for p in found.people:
        where = p.location_name if p.role == "staff" else ", ".join(p.regions) or "every region"
        signed = p.last_sign_in_at[:16].replace("T", " ") if p.last_sign_in_at else "never"
        print(f"{p.name:<24} {p.role:<8} {where:<24} {p.state:<9} {signed}")
    return 0


def cmd_user_edit(args: argparse.Namespace) -> int:
    import msgspec

    from server.errors import ApiError
    from server.people import people
    from server.people.people import PersonEdit

    db = _existing_database(args)
    person_id = people.by_name(db, args.name)
    if person_id is None:
        print(f"user edit: no user called {args.name!r} (touchpoint user list shows them)", file=sys.stderr)
        return EXIT_BAD_INPUT
    given = {k: v for k, v in {"role": args.role, "regions": args.region, "location": args.location, "email": args.email}.items() if v is not None}
    if not given:
        print("user edit: nothing to change: give --role, --region, --location or --email", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        p = people.edit(db, people.COMMAND_LINE, person_id, msgspec.convert(given, PersonEdit))
    except ApiError as exc:
        for problem in exc.problems or []:
            print(f"user edit: {problem.field}: {problem.message}", file=sys.stderr)
        if not exc.problems:
            print(f"user edit: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    where = p.location_name if p.role == "staff" else ", ".join(p.regions) or "every region"
    print(f"{p.name}: {p.role}, {where}, e-mail {p.email or 'none'}")
    return 0


def cmd_user_set_password(args: argparse.Namespace) -> int:
    from server.accounts import onboarding
    from server.accounts.accounts import AccountError

    try:
        password, ended = onboarding.set_password(_existing_database(args), args.name, args.password)
    except AccountError as exc:
        print(f"user set-password: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sessions = f"{ended} session{'s' if ended != 1 else ''} ended"
    print(f"{args.name}: new password: {password} ({sessions})" if args.password is None else f"{args.name}: password set ({sessions})")
    return 0


def cmd_photos_prune(args: argparse.Namespace) -> int:
    from server.photos.storage import prune
    from server.photos.store import photo_store

    settings = _settings(args)
    days = args.days if args.days is not None else settings.orphan_photo_days
    if days < 0:
        print(f"photos prune: --days: expected 0 or more, got {days}", file=sys.stderr)
        return EXIT_BAD_INPUT
    store = photo_store(settings)
    store.check()
    done = prune(_existing_database(args), store, days)
    print(f"deleted {done.photos} photo{'s' if done.photos != 1 else ''} uploaded over {days} days ago for audits that never arrived ({done.files} image files)"
          + (f", and {done.strays} image file{'s' if done.strays != 1 else ''} nothing referenced" if done.strays else ""))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from server import pgbackup
    from server.backup import BackupError, backup
    from server.photos.store import photo_store

    settings = _settings(args)
    if not settings.on_postgres and not settings.database.is_file():
        raise _Elsewhere(f"backup: no Touchpoint data in {settings.data.resolve()} (looked for {settings.database.name} there); point at it with --data DIR")
    print(f"Backing up {settings.database_url.rsplit('@', 1)[-1] if settings.on_postgres else settings.data} to {args.file} ...", flush=True)
    try:
        store = photo_store(settings)
        store.check()
        say = lambda line: print(line, flush=True)  # noqa: E731
        if settings.on_postgres:
            made = pgbackup.backup(settings.database_url, store, Path(args.file), progress=say)
        else:
            made = backup(settings.database, store, Path(args.file), progress=say)
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    size = Path(args.file).stat().st_size / 2**20
    print(f"{args.file}: {made.audits:,} audits, {made.photos:,} photos ({made.files:,} image files), {size:,.1f} MiB; checked: database whole, every photo present")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from server import pgbackup
    from server.backup import BackupError, restore
    from server.photos.store import photo_store

    settings = _settings(args)
    try:
        store = photo_store(settings)
        store.check()
        if settings.on_postgres:
            made = pgbackup.restore(Path(args.file), settings.database_url, store)
        else:
            made = restore(Path(args.file), settings.data, settings.database.name, store)
    except BackupError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError:
        print(f"restore: no file {args.file}", file=sys.stderr)
        return EXIT_BAD_INPUT
    into = settings.database_url.rsplit("@", 1)[-1] if settings.on_postgres else settings.data
    print(f"restored into {into}: {made.audits:,} audits and {made.photos:,} photos, as of {made.made_at}; start it with touchpoint serve")
    return 0


def cmd_move_to_postgres(args: argparse.Namespace) -> int:
    """Copy the data folder's SQLite database into an empty PostgreSQL database and compare the two."""
    from server.move import MoveRefused, move, report

    settings = _settings(args)
    url = args.url or settings.database_url
    if not url:
        print("move-to-postgres: give the empty PostgreSQL database to move into, e.g. touchpoint move-to-postgres "
              "postgresql://touchpoint:secret@db.example.com:5432/touchpoint (or set TOUCHPOINT_DATABASE_URL)", file=sys.stderr)
        return EXIT_BAD_INPUT
    Settings.from_env(data=args.data, database_url=url)  # the URL checked as the server will take it
    if not settings.database.is_file():
        raise _Elsewhere(f"move-to-postgres: no Touchpoint data in {settings.data.resolve()} (looked for {settings.database.name} there); "
                         "point at it with --data DIR")
    print(f"Moving {settings.database} to {url.rsplit('@', 1)[-1]} ...", flush=True)
    try:
        compared = move(settings.database, url, progress=lambda line: print(line, flush=True))
    except MoveRefused as exc:
        print(f"move-to-postgres: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("\n" + report(compared))
    unequal = [c.table for c in compared if not c.equal]
    if unequal:
        print(f"move-to-postgres: {len(unequal)} table{'s' if len(unequal) != 1 else ''} differ: {', '.join(unequal)}; "
              "keep serving from SQLite", file=sys.stderr)
        return EXIT_REFUSED
    print(f"\nAll {len(compared)} tables equal ({sum(c.sqlite_rows for c in compared):,} rows). Serve from PostgreSQL now, "
          f"with the same data folder (its photos stay there{', or in the bucket' if settings.photos_url else ''}):\n"
          f"  TOUCHPOINT_DATABASE_URL={url.split('://', 1)[0]}://... touchpoint serve --data {settings.data}")
    return 0


def cmd_checklists_import(args: argparse.Namespace) -> int:
    """Publish what DIR changes, by the folder's rule (server/checklists/versions.py)."""
    from server.checklists import versions

    folder = Path(args.dir)
    try:
        brands = load_brands(folder)
    except ChecklistError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = _existing_database(args)
    applied = versions.apply(db, brands, "import", replace=args.replace, note=args.note or f"imported from {folder}")
    for name in applied.published:
        print(f"{name}: published")
    for name in applied.unchanged:
        print(f"{name}: as published already")
    for refused in applied.refused:
        print(f"{folder}/{refused}", file=sys.stderr)
    if applied.refused:
        print(f"{len({r.brand for r in applied.refused})} brand(s) not imported; the others were", file=sys.stderr)
        return EXIT_BAD_INPUT
    if applied.published:
        print("A running server takes the new versions within a second.")
    return 0


def cmd_checklists_export(args: argparse.Namespace) -> int:
    """Write what is published, byte for byte, into DIR (a new folder, or an empty one)."""
    from server.checklists import versions

    folder = Path(args.dir)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        print(f"checklists export: {folder} exists and is not an empty folder: choose a new one (nothing is overwritten)", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = _existing_database(args)
    written = versions.export(db, folder)
    print(f"{len(written)} files written to {folder}")
    return 0


def cmd_locations_import(args: argparse.Namespace) -> int:
    from server.checklists.catalog import Catalog
    from server.locations.locations import ImportRefused, import_locations, parse_csv

    settings = _settings(args)
    try:
        text = _read(Path(args.file)).decode("utf-8-sig")
    except UnicodeDecodeError:
        print(f"{args.file}: expected a UTF-8 CSV file", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        db = _database(args)
        brands = list(Catalog.load(db, settings.checklists).brands)  # records the brands the rows refer to
        rows, lines, problems = parse_csv(text)
        count = import_locations(db, rows, brands, lines, problems).imported
    except ChecklistError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportRefused as exc:
        for problem in exc.problems:
            where = " ".join(x for x in (f"line {problem.line}" if problem.line else "", problem.field or "") if x)
            print(f"{args.file}: {where + ': ' if where else ''}{problem.message}", file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{count} location{'s' if count != 1 else ''} imported")
    return 0


def _serve(settings: Settings, ready: str = "") -> int:
    """Run the server until stopped, as `settings.processes` processes on one port; `ready` is
    printed once it listens (the demo's sign-in lines).

    This process checks the checklists, migrates the database and prints the setup link, once; with
    one process it then serves itself, with more it binds the port and hands it to that many server
    processes (uvicorn's supervisor: a process that dies is started again), each of which makes the
    app from the same settings, handed down as TOUCHPOINT_* variables."""
    import uvicorn

    from server.app import create_app, prepare

    try:
        _brands(settings, "serve")  # before anything makes a database
        prepare(settings)
    except ChecklistError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print("the server did not start: fix the checklists above (touchpoint check lists them too)", file=sys.stderr)
        return EXIT_BAD_INPUT
    from server.network import uvicorn_options

    processes = settings.processes
    ready = (f"Touchpoint is ready on http://{settings.host}:{settings.port}/  (data: {settings.data}, API docs: /schema, "
             f"{processes} server process{'es' if processes != 1 else ''})" + (f"\n{ready}" if ready else ""))
    from server.db import serving

    held, first = serving(settings.store)  # noqa: F841 (held for as long as this process serves)
    if (setup := _setup_line(settings, first)) is not None:
        ready += f"\n{setup}"
    options = {"host": settings.host, "port": settings.port, "log_level": "warning", **uvicorn_options(settings)}
    if processes == 1:
        _listening_server(uvicorn.Config(create_app(settings), **options), ready).run()
        return 0
    import os

    from uvicorn.supervisors import Multiprocess

    os.environ.update(settings.environment())  # the processes started below make the same settings from them
    config = uvicorn.Config("server.app:from_environment", factory=True, workers=processes, **options)
    listening = config.bind_socket()
    threading.Thread(target=_announce, args=(settings, ready), name="touchpoint-ready", daemon=True).start()
    Multiprocess(config, sockets=[listening]).run()
    return 0


def _announce(settings: Settings, ready: str) -> None:
    """Print `ready` once one of the server processes answers on the port."""
    import http.client
    import time

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else "::1" if settings.host == "::" else settings.host
    while True:
        try:
            connection = http.client.HTTPConnection(host, settings.port, timeout=5)
            connection.request("GET", "/api/health")
            connection.getresponse().read()
            connection.close()
            break
        except OSError:
            time.sleep(0.1)
    print(ready, flush=True)
    READY.set()


def _setup_line(settings: Settings, first: bool = True) -> str | None:
    """With no admin who may sign in: a new one-time setup link (the one printed at an earlier start
    stops working), for the first admin to open in a browser. One link for the installation: a
    server started while another serves the same data folder (on PostgreSQL: the same database,
    from any host) says so and makes none."""
    from server.accounts import onboarding
    from server.migrations import open_database

    db = open_database(settings.store)
    try:
        if not onboarding.needs_setup(db):
            return None
        if not first:
            where = ("database", "of this database, on every host,") if settings.on_postgres else ("data folder", "of this folder")
            return (f"No admin yet. The one-time setup link was printed by the server already running on this {where[0]} "
                    f"(see its output); to have a new one, stop every server {where[1]} and start one.")
        secret = onboarding.setup_link(db)
    finally:
        db.conn.close()
    if secret is None:
        return None
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return (f"No admin yet. Open this one-time setup link to make the first admin (it works once; a restart prints a new one):\n"
            f"  {onboarding.address(base, 'setup', secret)}")


def _listening_server(config, ready: str):
    """uvicorn's server, printing `ready` once it listens (uvicorn's own line is logged only at info level)."""
    import uvicorn

    class Listening(uvicorn.Server):
        def __init__(self, config, ready: str):
            super().__init__(config)
            self.ready = ready

        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started:
                print(self.ready, flush=True)
                READY.set()

    return Listening(config, ready)


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(_settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from server import demo
    from server.checklists.catalog import Catalog

    settings = _settings(args)
    try:
        brands = _brands(settings, "demo")
    except ChecklistError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return EXIT_BAD_INPUT
    if "harbor" not in brands:
        print(f"demo: the demo brand 'harbor' is not in {settings.checklists.resolve()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from server.photos.store import photo_store

    photo_store(settings).check()  # before a database is made and six months of audits are built
    db = _database(args)
    catalog = Catalog.applying(db, brands)
    for refused in catalog.applied.refused:
        print(f"demo: {settings.checklists}/{refused} (the published version is kept)", file=sys.stderr)
    if demo.is_empty(db):
        print(f"Building the demo in {settings.data}: 40 shops in 4 regions, six months of audits ...", flush=True)
        passwords = demo.build(db, catalog, photo_store(settings))
    elif args.reset_passwords:
        print(f"{settings.data} already holds data: keeping it, with new passwords for the demo's own users.", flush=True)
        passwords = demo.reset_passwords(db)
    else:
        print(f"{settings.data} already holds data: keeping it and every password "
              "(--reset-passwords gives the demo's own users new ones).", flush=True)
        passwords = {}
    audits, locations, waiting, planned, campaigns, calls = demo.tally(db)
    db.conn.close()
    site = f"http://{settings.host}:{settings.port}"
    lines = [f"{audits} audits of {locations} locations; {waiting} wait for review ({site}/manage/review); {planned} visits planned.",
             f"{campaigns} campaigns on the support line with {calls} calls ({site}/manage/campaigns, as admin).",
             "",
             "Try, in another terminal:",
             f"  curl -s -c jar -X POST {site}/api/login -H 'Content-Type: application/json' \\",
             f"       -d '{{\"name\": \"manager-east\", \"password\": \"{passwords.get('manager-east', '...')}\"}}'",
             f"  curl -s -b jar {site}/api/regions/east/summary",
             ""]
    receiver = None if args.no_serve else _demo_receiver(settings)
    if receiver is not None:
        lines += [f"Webhooks go to a receiver the demo started at {receiver.url}; it checks each signature and counts what came.",
                  f"Their delivery log: {site}/manage/webhooks (as admin).", ""]
    # the passwords last, so no other line scrolls them away; and once more when the server is ready
    welcome = _sign_in_lines(site, passwords)
    print("\n".join(lines + welcome), flush=True)
    if args.no_serve:
        return 0
    if receiver is not None:  # its own receiver, that address and port, and nothing else beyond the public ones
        allowed = ",".join(filter(None, [settings.webhook_allow_networks, f"127.0.0.1:{receiver.httpd.server_port}"]))
        settings = msgspec.structs.replace(settings, webhook_allow_networks=allowed)
    return _serve(settings, ready="\n".join(welcome))


def _sign_in_lines(site: str, passwords: dict[str, str]) -> list[str]:
    """Who can sign in, with the passwords the demo just made (shown only now)."""
    if not passwords:
        return [f"Sign in at {site}/manage/ with the passwords printed when the demo was built."]
    return ["Sign in as (passwords are shown only now):", *(f"  {name:<15} {password}" for name, password in passwords.items()), "",
            f"The managers' pages: {site}/manage/ (manager-east, or admin). The auditors' app: {site}/ (ana); a phone on",
            "the same network needs --host 0.0.0.0 and https for the app to install; the desktop browser works as it is."]


READY = threading.Event()  # set once the server's ready line is printed


def _after_ready(line: str) -> None:
    """Print `line` once the ready line (and the passwords with it) is out, never before: the
    passwords stay the last block above it (a delivery can arrive before the supervisor has seen
    a server process answer)."""
    def later():
        READY.wait(120)
        print(line, flush=True)

    threading.Thread(target=later, daemon=True).start()


def _demo_receiver(settings):
    """Start the demo's webhook receiver on a free loopback port and point the demo's webhook at it."""
    from server import demo
    from server.db import connect, write
    from server.followup.receiver import DemoReceiver

    db = connect(settings.store)
    try:
        found = demo.receiver_webhook(db)
        if found is None:
            return None
        receiver = DemoReceiver(found[1], say=_after_ready).start()
        with write(db):
            demo.point_webhook(db, found[0], receiver.url)
        return receiver
    finally:
        db.conn.close()


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", metavar="DIR", help="database and photos folder (default: $TOUCHPOINT_DATA or ./data)")
    common.add_argument("--checklists", metavar="DIR", help="brands folder (default: $TOUCHPOINT_CHECKLISTS or ./checklists)")
    listen = argparse.ArgumentParser(add_help=False)
    listen.add_argument("--host", metavar="H", help="address to listen on (default 127.0.0.1)")
    listen.add_argument("--port", metavar="P", type=int, help="port to listen on (default 8000)")
    listen.add_argument("--workers", metavar="N", type=int, help="server processes on the one port (default: $TOUCHPOINT_WORKERS, else the machine's cores, at most 4)")
    listen.add_argument("--public-url", metavar="URL", help="the address people reach the server at, for posters and QR codes (default: $TOUCHPOINT_PUBLIC_URL)")

    top = argparse.ArgumentParser(prog="touchpoint", description="Mystery-shopping audits scored against a brand promise.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate every brand and checklist under DIR")
    check.add_argument("dir", nargs="?", metavar="DIR", help="the checklists folder (default: --checklists, $TOUCHPOINT_CHECKLISTS or ./checklists)")
    check.add_argument("--checklists", metavar="DIR", help="the same as DIR")
    check.set_defaults(run=cmd_check)

    score = commands.add_parser("score", help="score one audit offline against a checklist")
    score.add_argument("checklist", metavar="CHECKLIST.yaml", help="the checklist; its brand is brand.yaml beside it")
    score.add_argument("audit", metavar="AUDIT.json", help="an audit as the API takes it; only its answers are read")
    score.set_defaults(run=cmd_score)

    serve = commands.add_parser("serve", parents=[common, listen], help="run the server on existing data")
    serve.set_defaults(run=cmd_serve)

    demo = commands.add_parser("demo", parents=[common, listen], help="build the demo (brand, 40 shops, six months of audits, users) and serve it")
    demo.add_argument("--no-serve", action="store_true", help="build the demo data and exit")
    demo.add_argument("--reset-passwords", action="store_true", help="on existing data: new passwords for the demo's own users (nobody else's)")
    demo.set_defaults(run=cmd_demo)

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True, metavar="ACTION")
    add = user.add_parser("add", parents=[common], help="add a user (prints a generated password unless --password-stdin)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=["admin", "manager", "auditor", "staff"])
    add.add_argument("--region", action="append", metavar="R", help="a region the user works in (repeat for several)")
    add.add_argument("--location", metavar="L", help="staff only: the one location they work at and see")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")
    add.set_defaults(run=cmd_user_add)

    disable = user.add_parser("disable", parents=[common], help="stop a user signing in; ends their sessions and revokes their tokens at once")
    disable.add_argument("name", metavar="NAME")
    disable.set_defaults(run=cmd_user_disable)
    enable = user.add_parser("enable", parents=[common], help="let a disabled user sign in again")
    enable.add_argument("name", metavar="NAME")
    enable.set_defaults(run=cmd_user_enable)
    setpw = user.add_parser("set-password", parents=[common], help="the last resort for a forgotten password: a new one (generated and printed unless --password); their sessions end")
    setpw.add_argument("name", metavar="NAME")
    setpw.add_argument("--password", metavar="P", help="the new password (the same rules as user add); default: a generated one, printed")
    setpw.set_defaults(run=cmd_user_set_password)

    listing = user.add_parser("list", parents=[common], help="list people: name, role, regions or location, state, last sign-in")
    listing.add_argument("--role", choices=["admin", "manager", "auditor", "staff"], help="only this role")
    listing.add_argument("--region", metavar="R", help="only people of this region (staff: of a location in it)")
    listing.add_argument("--search", metavar="S", help="a part of the name, e-mail or code")
    listing.set_defaults(run=cmd_user_list)
    edit = user.add_parser("edit", parents=[common], help="change a person's role, regions, location or e-mail (written to their history)")
    edit.add_argument("name", metavar="NAME")
    edit.add_argument("--role", choices=["admin", "manager", "auditor", "staff"])
    edit.add_argument("--region", action="append", metavar="R", help="the regions, all of them (repeat for several; replaces the old ones)")
    edit.add_argument("--location", metavar="L", help="staff only: the one location they work at")
    edit.add_argument("--email", metavar="ADDRESS", help='their e-mail ("" removes it)')
    edit.set_defaults(run=cmd_user_edit)

    token = commands.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True, metavar="ACTION")
    token_add = token.add_parser("add", parents=[common], help="print a new API token for a user")
    token_add.add_argument("name", metavar="NAME")
    token_add.add_argument("--days", type=int, default=90, metavar="N", help="how long it works (default 90 days)")
    token_add.add_argument("--label", default="", metavar="TEXT", help="what it is for, shown by token list")
    token_add.set_defaults(run=cmd_token_add)
    token_list = token.add_parser("list", parents=[common], help="list tokens with their state, expiry and last use")
    token_list.add_argument("name", nargs="?", metavar="NAME", help="only this user's")
    token_list.set_defaults(run=cmd_token_list)
    revoke = token.add_parser("revoke", parents=[common], help="end one token now (its id from token list)")
    revoke.add_argument("id", type=int, metavar="ID")
    revoke.set_defaults(run=cmd_token_revoke)

    photos = commands.add_parser("photos", help="photos").add_subparsers(dest="action", required=True, metavar="ACTION")
    prune = photos.add_parser("prune", parents=[common], help="delete now the photos of audits that never arrived (the server does it hourly)")
    prune.add_argument("--days", type=int, metavar="N", help="older than N days (default: $TOUCHPOINT_ORPHAN_PHOTO_DAYS or 30)")
    prune.set_defaults(run=cmd_photos_prune)

    back = commands.add_parser("backup", parents=[common], help="copy the database and its photos into one checked tar file, while the server runs")
    back.add_argument("file", metavar="FILE", help="the backup to write, e.g. touchpoint-2026-11-30.tar (never overwritten)")
    back.set_defaults(run=cmd_backup)
    rest = commands.add_parser("restore", parents=[common], help="unpack a backup into an empty data folder (checked first)")
    rest.add_argument("file", metavar="FILE", help="a file made by touchpoint backup")
    rest.set_defaults(run=cmd_restore)

    moving = commands.add_parser("move-to-postgres", parents=[common], help="copy the data folder's SQLite database into an empty PostgreSQL database, then compare them table by table")
    moving.add_argument("url", nargs="?", metavar="URL", help="the empty PostgreSQL database, postgresql://user:password@host:5432/name (default: $TOUCHPOINT_DATABASE_URL)")
    moving.set_defaults(run=cmd_move_to_postgres)

    lists = commands.add_parser("checklists", help="what is published: import a folder, export the current versions").add_subparsers(dest="action", required=True, metavar="ACTION")
    take = lists.add_parser("import", parents=[common], help="publish what a folder of brands changes (never an older file, never over a browser edit without --replace)")
    take.add_argument("dir", metavar="DIR", help="a folder of brands, as checklists/")
    take.add_argument("--replace", action="store_true", help="publish the folder's files even over a version published in the browser, or an older file")
    take.add_argument("--note", help="the versions' note (default: imported from DIR)")
    take.set_defaults(run=cmd_checklists_import)
    give = lists.add_parser("export", parents=[common], help="write the published brands and checklists, byte for byte, into a new folder")
    give.add_argument("dir", metavar="DIR", help="a new or empty folder")
    give.set_defaults(run=cmd_checklists_export)

    places = commands.add_parser("locations", help="manage locations").add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = places.add_parser("import", parents=[common], help="add or update locations from a CSV file (all rows or none)")
    imp.add_argument("file", metavar="FILE.csv", help="columns id,name,region,brand,address,lat,lng (brand may be left out with one brand)")
    imp.set_defaults(run=cmd_locations_import)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (_Unreadable, _Elsewhere, SettingsError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
