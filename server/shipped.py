"""Where the folders the checkout keeps beside server/ are: the auditors' app (pwa/) and the demo
brand (checklists/). In a checkout (and an editable install) they sit beside the package; an
installed wheel carries them inside it, in server/_shipped/ (see setup.py)."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def folder(name: str) -> Path:
    inside = PACKAGE / "_shipped" / name
    return inside if inside.is_dir() else PACKAGE.parent / name


PWA = folder("pwa")
DEMO_CHECKLISTS = folder("checklists")  # the demo brand, harbor: `touchpoint demo --checklists` this folder
