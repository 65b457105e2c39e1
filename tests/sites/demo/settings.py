"""Any demo project of lino_book, with its database in the SQLite file
named by DUMP2PY_TEST_DB (see ../testdb.py). DUMP2PY_DEMO names the
demo's settings module (e.g. lino_book.projects.cosi1.settings)."""

import importlib
import os

from testdb import TestSiteMixin, db_path

db_path()  # fail early and clearly when DUMP2PY_TEST_DB is unset

_name = os.environ.get("DUMP2PY_DEMO")
if not _name:
    raise RuntimeError("DUMP2PY_DEMO is not set: set it to a demo's settings module, "
                       "e.g. lino_book.projects.cosi1.settings")
_demo = importlib.import_module(_name)
globals().update({k: v for k, v in vars(_demo).items() if not k.startswith("__")})


class Site(TestSiteMixin, _demo.Site):
    pass


# The demo's module already made a SITE for its own directory; this one
# replaces it and (re)computes DATABASES, MEDIA_ROOT etc. in our globals().
SITE = Site(globals())
