"""The wheel also carries the two folders the checkout keeps beside server/: the auditors' app (pwa/)
and the demo brand (checklists/), copied into server/_shipped/, where server/shipped.py finds them.
Everything else is declared in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("pwa", "checklists")


class BuildWithShippedFolders(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them where they are
            return
        for folder in SHIPPED:
            self.copy_tree(folder, str(Path(self.build_lib) / "server" / "_shipped" / folder))


setup(cmdclass={"build_py": BuildWithShippedFolders})
