"""Where the folders the checkout keeps beside server/ are: the auditors' app (pwa/) and the demo
brand (checklists/). In a checkout (and an editable install) they sit beside the package; an
installed wheel puts them in <prefix>/share/touchpoint/ (pyproject.toml's data-files)."""

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def folder(name: str) -> Path:
    beside = PACKAGE.parent / name
    if beside.is_dir():  # a checkout (or a copy of its folders)
        return beside
    return Path(sys.prefix) / "share" / "touchpoint" / name


PWA = folder("pwa")
DEMO_CHECKLISTS = folder("checklists")  # the demo brand, harbor: `touchpoint demo --checklists` this folder
