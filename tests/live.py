"""The real server in its own process, and the system's Chromium: what the browser tests and the
app benchmark run against. Nothing is mocked: `touchpoint serve` on a loopback port, a real
SQLite file, the repository's checklists.
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import ExifTags, Image, ImageDraw

from tests.databases import copy_template

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]
AUDITOR, AUDITOR_PASSWORD = "ann", "ann-walks-the-shops"
ADMIN = "boss"
LOCATIONS_CSV = """\
id,name,region,brand,address,lat,lng
bath-1,Bath Market,west,harbor,1 Stall Street,51.3811,-2.3590
bude-1,Bude Market,west,harbor,2 The Strand,50.8303,-4.5437
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"]


def chromium() -> str:
    """The system's Chromium, or an error that says how to get it."""
    for candidate in (os.environ.get("TOUCHPOINT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise RuntimeError(
        "The browser tests need Chromium and found none. On Debian or Ubuntu: `apt-get install chromium` "
        "(as root); elsewhere install Chromium or Chrome and set TOUCHPOINT_CHROMIUM to its path."
    )


def children(pid: int) -> list[tuple[int, int, str]]:
    """(pid, start time in clock ticks, command line) of a process's children, oldest first (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid:
                found.append((int(entry.name), int(fields[19]), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode() or f"(exited: state {fields[0]}, status {fields[-1]})"))
        except (OSError, ValueError):
            continue
    return sorted(found, key=lambda child: child[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`touchpoint serve` on a free port over a data folder seeded with two shops, an auditor and an admin."""

    def __init__(self, folder: Path, checklists: Path = REPO / "checklists", seed: bool = True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ, "TOUCHPOINT_DATA": str(folder / "data"), "TOUCHPOINT_CHECKLISTS": str(checklists),
            "TOUCHPOINT_HOST": "127.0.0.1", "TOUCHPOINT_PORT": str(self.port),
            "TOUCHPOINT_AUDIT_MAX_AGE_DAYS": "36500",  # some browser tests fix the clock in 2026
        }
        if os.environ.get("TOUCHPOINT_TEST_DATABASE") == "postgresql":  # the suite on PostgreSQL (tests/conftest.py)
            from tests.postgres import test_database_url

            self.env["TOUCHPOINT_DATABASE_URL"] = test_database_url()
        self.process: subprocess.Popen | None = None
        self.root = REPO  # whose `server` and `pwa` run: another folder stands for another release
        self.log = folder / "server.log"
        if not seed:
            return
        copy_template(folder / "data" / "touchpoint.db")  # migrated once a run (tests.databases), not by the first command here
        csv = folder / "locations.csv"
        csv.write_text(LOCATIONS_CSV)
        self.cli("locations", "import", str(csv))
        self.cli("user", "add", AUDITOR, "--role", "auditor", "--region", "west", "--password-stdin", input=AUDITOR_PASSWORD + "\n")
        self.cli("user", "add", ADMIN, "--role", "admin", "--password-stdin", input="boss-password-1\n")
        self.admin_token = self.cli("token", "add", ADMIN).strip().split()[-1]

    @property
    def store(self) -> Path | str:
        """The server's database, as Settings.store says it: the PostgreSQL URL, else the SQLite file."""
        return self.env.get("TOUCHPOINT_DATABASE_URL") or Path(self.env["TOUCHPOINT_DATA"]) / "touchpoint.db"

    def cli(self, *args: str, input: str | None = None) -> str:
        done = subprocess.run([*CLI, *args], env=self.env, input=input, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"touchpoint {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def start(self, *command: str) -> "LiveServer":
        """`touchpoint serve` (or `command`, e.g. "demo", which builds and serves) until /api/health answers."""
        started = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen([*CLI, *(command or ("serve",))], env=self.env, cwd=self.root, stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # and it said so: with several server processes, the supervisor prints its lines once one answers
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200 and "Touchpoint is ready" in self.log.read_text()[started:]:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
            if self.process.poll() is not None:
                break
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def restart(self, root: Path) -> "LiveServer":
        """The same data and port, served by the code under `root` (`python -c` finds `server` in
        its working folder before the installed one): how a new release is deployed."""
        self.stop()
        self.root = root
        return self.start()

    def api(self, path: str) -> httpx.Response:
        """GET as the admin (a bearer token): what the server holds."""
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=10)

    def approve(self, audit_id: str) -> None:
        """Approve an audit as the admin: the demo brand reviews audits before they count."""
        done = httpx.post(f"{self.url}/api/audits/{audit_id}/review", json={"action": "approve"}, headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=10)
        assert done.status_code == 200, done.text


LOCATIONS_READY = "#location input[value='bath-1']"  # the start screen lists the locations


def choose_location(page, location_id: str) -> None:
    """Pick a location on the app's start screen as an auditor does: search for it, then tap it."""
    page.fill("#location-search", location_id)
    page.locator(f"#location label:has(input[value='{location_id}'])").click()


def camera_jpeg(width: int = 2400, height: int = 1800, lat=(51.0, 22.0, 51.96), lng=(2.0, 21.0, 32.4)) -> bytes:
    """A phone-camera JPEG: stored sideways with EXIF orientation 6, GPS west of Greenwich, a model."""
    image = Image.new("RGB", (width, height), (210, 220, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 3, height), fill=(180, 40, 40))  # a red band along the stored left edge
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Model] = "Field Phone 7"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:20 10:14:30"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", lat
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", lng
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()
