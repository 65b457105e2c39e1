"""The min1 demo site of lino_book, with its database in the SQLite file
named by the environment variable DUMP2PY_TEST_DB (see ../testdb.py)."""

from testdb import TestSiteMixin, db_path

db_path()  # fail early and clearly when DUMP2PY_TEST_DB is unset

from lino_book.projects.min1.settings import *  # noqa: E402,F401,F403
from lino_book.projects.min1.settings import Site as Min1Site  # noqa: E402


class Site(TestSiteMixin, Min1Site):
    pass


# min1's settings module already made a SITE for its own directory; this one
# replaces it and (re)computes DATABASES, MEDIA_ROOT etc. in our globals().
SITE = Site(globals())
