"""Build hook: a wheel carries the pages' browser libraries (package.json's "staticDirs"),
taken from the pinned npm packages at build time, so that an installed gateway needs no
node or npm; and the translations (gateway/locale), compiled by GNU gettext's msgfmt, so
that it speaks Vietnamese. Everything else about the package is in pyproject.toml."""

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithPageLibraries(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # a checkout serves them from node_modules (config/settings.py)
            return
        static_dirs = json.loads((ROOT / "package.json").read_text())["staticDirs"]
        modules = ROOT / "node_modules"
        if not all((modules / source).is_dir() for source in static_dirs.values()):
            subprocess.run(
                ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True
            )
        for name, source in static_dirs.items():
            shutil.copytree(modules / source, Path(self.build_lib) / "gateway" / "static" / name, dirs_exist_ok=True)
        for catalogue in (ROOT / "gateway" / "locale").glob("*/LC_MESSAGES/*.po"):
            compiled = Path(self.build_lib) / catalogue.relative_to(ROOT).with_suffix(".mo")
            compiled.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(catalogue)], check=True)


setup(cmdclass={"build_py": BuildWithPageLibraries})
