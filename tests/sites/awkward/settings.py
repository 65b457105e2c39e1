"""A small Lino site whose data is hard to dump and restore correctly.

Its database is the SQLite file named by the environment variable
DUMP2PY_TEST_DB (see ../testdb.py).

Variants for data migrations, all by environment variable (unset: the
default site; see tests/python/README.md):
- AWKWARD_VERSION: the site's version (default: none, an unversioned site)
- AWKWARD_LANGUAGES: the site's languages (default "en de fr")
- AWKWARD_RENAMED=1: things.Note's field `text` is called `body`
- AWKWARD_PROXY=1: adds a proxy model things.SpecialNode
- AWKWARD_STRICT_CYCLE=1: things.Alpha.beta and Beta.alpha without blank=True
"""

import os

from testdb import TestSiteMixin, db_path

db_path()  # fail early and clearly when DUMP2PY_TEST_DB is unset

from lino.projects.std.settings import *  # noqa: E402,F401,F403

USE_TZ = True
TIME_ZONE = "Europe/Brussels"


class Site(TestSiteMixin, Site):  # noqa: F405
    title = "dump2py awkward test site"
    languages = os.environ.get("AWKWARD_LANGUAGES") or "en de fr"
    version = os.environ.get("AWKWARD_VERSION") or None
    # migrate_from_<version> methods for a dump of an older version
    migration_class = "awkward.migrate.Migrator"
    demo_fixtures = ["std", "demo"]
    with_users = False

    def get_installed_plugins(self):
        yield super().get_installed_plugins()
        yield "lino.modlib.system"
        yield "lino.modlib.gfks"
        yield "awkward.lib.things"


SITE = Site(globals())
DEBUG = True
