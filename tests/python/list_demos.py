#!/usr/bin/env python3
"""Prints the demo projects of the installed lino_book, one a line:
NAME SETTINGS_MODULE (the project's `settings` module, or `settings.demo`
where settings is a package). Run it with the reference venv's python."""

import importlib.util
from pathlib import Path

spec = importlib.util.find_spec("lino_book.projects")
root = Path(spec.submodule_search_locations[0])
for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
    if (d / "settings.py").is_file():
        print(d.name, f"lino_book.projects.{d.name}.settings")
    elif (d / "settings" / "demo.py").is_file():
        print(d.name, f"lino_book.projects.{d.name}.settings.demo")
