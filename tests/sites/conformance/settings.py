"""The field conformance site (issue 12): one model per field class of
Django, Lino and lino_xl (app `kinds`, conformance/lib/kinds), each with
edge rows, and values stored behind the ORM that Django reads differently
(fixtures/behind.py). tests/python/field_classes.py checks that no field
class is missing.

USE_TZ = True, so that a naive datetime stored behind the ORM is one that
Django reads differently. Its database comes from DUMP2PY_TEST_DB (and
DUMP2PY_TEST_DB_URL), see ../testdb.py.
"""

from testdb import TestSiteMixin, db_path

db_path()  # fail early and clearly when DUMP2PY_TEST_DB is unset

from lino.projects.std.settings import *  # noqa: E402,F401,F403

USE_TZ = True
TIME_ZONE = "Europe/Brussels"


class Site(TestSiteMixin, Site):  # noqa: F405
    title = "dump2py field conformance site"
    languages = "en de"
    demo_fixtures = ["demo", "behind"]
    with_users = False

    def get_installed_plugins(self):
        yield super().get_installed_plugins()
        yield "lino.modlib.system"
        yield "lino.modlib.gfks"
        yield "conformance.lib.kinds"


SITE = Site(globals())
DEBUG = True
