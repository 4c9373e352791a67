"""The wheel carries everything the server needs: built from the files a clone holds, installed into
a fresh virtual environment outside the checkout, and run there (`touchpoint demo --no-serve`, then
the server, asked for the app, the managers' pages, the API viewer and a PDF).

The new environment gets no dependency from the network: after the wheel is installed (with
--no-deps), one .pth line hands it the running environment's site-packages, where the dependencies
already are. The checkout's editable install sits there too, but only as a .pth file of its own,
and Python reads .pth files only in a site directory, never in a folder a .pth line adds: so the
checkout's `server` cannot be imported there, and the test checks that it is not.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def clone_files() -> list[str]:
    """What a fresh clone holds, with the work not yet committed: tracked and new files, not the ignored ones."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name and (REPO / name).is_file()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*command, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=300, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, its site-packages, the environment to run in, a folder outside the checkout, the source copy)."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    for name in clone_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((REPO / name).read_bytes())
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", root / "dist", source)
    [wheel] = (root / "dist").glob("touchpoint-*.whl")
    built = time.monotonic()

    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    assert not any((Path(p) / "server").exists() for p in ours), f"a `server` package in {ours}: the installed one could be shadowed"
    (site / "touchpoint-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))  # after installing, so pip saw none of them

    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHPOINT_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    print(f"\nwheel: built in {built - started:.1f} s ({wheel.stat().st_size / 1e6:.1f} MB), installed in {time.monotonic() - built:.1f} s")
    return venv, site, env, elsewhere, source


def test_the_installed_server_is_the_wheels_not_the_checkouts(installed):
    venv, site, env, elsewhere, _ = installed
    found = run(venv / "bin" / "python", "-c", "import sys, server, server.shipped as s; print(server.__file__); print(s.PWA); print(s.DEMO_CHECKLISTS);"
                "print(any('editable' in type(f).__module__.lower() or 'editable' in str(f).lower() for f in sys.meta_path))", cwd=elsewhere, env=env)
    module, pwa, checklists, editable = found.stdout.split("\n")[:4]
    assert Path(module) == site / "server" / "__init__.py"
    assert Path(pwa) == venv / "share" / "touchpoint" / "pwa" and Path(checklists) == venv / "share" / "touchpoint" / "checklists"
    assert editable == "False", "the checkout's editable finder is loaded in the new environment"


def test_the_wheel_holds_every_file_the_server_reads(installed):
    """Every file of server/ that is not Python (templates, static files, fonts, the password list,
    the API viewer), whatever folder a domain keeps it in; the app and the demo brand whole."""
    venv, site, _, _, source = installed
    share = venv / "share" / "touchpoint"
    wanted = {p.relative_to(source).as_posix(): site / p.relative_to(source) for p in (source / "server").rglob("*")
              if p.is_file() and p.suffix != ".py" and "screenshots" not in p.parts}
    wanted |= {p.relative_to(source).as_posix(): share / p.relative_to(source) for top in ("pwa", "checklists") for p in (source / top).rglob("*") if p.is_file()}
    missing = sorted(name for name, there in wanted.items() if not there.is_file())
    assert missing == [], f"not in the wheel: {missing}"
    assert {"server/accounts/common_passwords.txt", "server/static/redoc/redoc.standalone.js", "pwa/index.html", "pwa/js/app.js",
            "checklists/harbor/brand.yaml"} <= set(wanted)
    assert any(name.endswith(".ttf") for name in wanted) and any(name.endswith(".html") and "templates" in name for name in wanted)
    for name, there in wanted.items():
        assert there.read_bytes() == (source / name).read_bytes(), name


def test_demo_and_the_server_run_from_the_installed_wheel(installed):
    venv, site, env, elsewhere, source = installed
    touchpoint, data = venv / "bin" / "touchpoint", elsewhere / "data"
    refused = run(touchpoint, "demo", "--no-serve", "--data", data, cwd=elsewhere, env=env, check=False)
    demo_brand = venv / "share" / "touchpoint" / "checklists"
    assert refused.returncode == 2 and f"--checklists {demo_brand}" in refused.stderr  # it says where the installed demo brand is
    assert list(elsewhere.iterdir()) == []

    started = time.monotonic()
    built = run(touchpoint, "demo", "--no-serve", "--data", data, "--checklists", demo_brand, cwd=elsewhere, env=env)
    print(f"\nwheel: touchpoint demo --no-serve in {time.monotonic() - started:.1f} s")
    passwords = dict(re.findall(r"^  (\S+) +(\S+)$", built.stdout, re.M))
    assert "admin" in passwords and "ana" in passwords, built.stdout
    weak = run(touchpoint, "user", "add", "weak", "--role", "auditor", "--region", "east", "--password-stdin", "--data", data,
               input="password1234\n", cwd=elsewhere, env=env, check=False)
    assert weak.returncode == 2 and "not one of the common passwords" in weak.stderr  # the list is there and read

    port = free_port()
    log = (elsewhere / "server.log").open("w")
    server = subprocess.Popen([touchpoint, "serve", "--data", data, "--checklists", demo_brand, "--host", "127.0.0.1", "--port", str(port)],
                              cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    site_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(site_url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (elsewhere / "server.log").read_text()[-3000:]
            time.sleep(0.2)
        with httpx.Client(base_url=site_url, timeout=30) as client:
            app = client.get("/")
            assert app.status_code == 200 and app.content == (source / "pwa" / "index.html").read_bytes()
            worker = client.get("/sw.js")
            assert worker.status_code == 200 and '"/js/app.js"' in worker.text and "__SHELL__" not in worker.text
            assert client.get("/js/outbox.js").content == (source / "pwa" / "js" / "outbox.js").read_bytes()
            signin = client.get("/manage/signin")
            assert signin.status_code == 200 and "<form" in signin.text
            viewer = client.get("/schema/redoc/redoc.standalone.js")
            assert viewer.status_code == 200 and viewer.content == (source / "server" / "static" / "redoc" / "redoc.standalone.js").read_bytes()
            page = client.get("/schema")
            assert page.status_code == 200 and "/schema/redoc/redoc.standalone.js" in page.text
            assert client.get("/schema/openapi.json").json()["paths"]
            assert client.post("/api/login", json={"name": "admin", "password": passwords["admin"]}).status_code == 200
            for page in ("/manage/", "/manage/review", "/manage/flags", "/manage/campaigns", "/manage/static/manage.css"):
                assert client.get(page).status_code == 200, page  # each domain's templates, and the pages' own files
            [audit] = client.get("/api/audits", params={"limit": 1}).json()["items"]
            pdf = client.get(f"/manage/audits/{audit['id']}.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"DejaVuSans" in pdf.content  # the fonts shipped
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
