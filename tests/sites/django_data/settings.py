"""A plain Django site (no Lino) holding Django's own test data
(tests/tests/django_data.rs): the apps `serializers` and `fixtures` of
the tests of Django's source distribution, which the test fetches once
and names with DJANGO_TESTS_DIR (never copied into this repository),
filled by fill.py with tests/serializers/test_data.py's data through its
own create functions, a few of tests/fixtures' fixture files, a user and
a group with permissions of several apps.

DJANGO_DATA_USE_TZ=0 makes it a site without time zones (default: with).
DJANGO_DATA_PGKINDS=1 (on PostgreSQL only: DUMP2PY_TEST_DB_URL
postgres://…) adds django.contrib.postgres and the app `pgkinds` (arrays,
hstore, ranges).
The database is the SQLite file DUMP2PY_TEST_DB or DUMP2PY_TEST_DB_URL
(see ../testdb.py)."""

import os
import sys

from testdb import databases, db_path, URL_VAR

TESTS = os.environ.get("DJANGO_TESTS_DIR")
if not TESTS:
    raise RuntimeError("DJANGO_TESTS_DIR is not set: the tests/ directory of "
                       "Django's source distribution")
if TESTS not in sys.path:
    sys.path.append(TESTS)

SECRET_KEY = "dump2py tests: not secret"
DEBUG = False
USE_TZ = os.environ.get("DJANGO_DATA_USE_TZ", "1") != "0"
# Django's own test runner's zone.
TIME_ZONE = "America/Chicago"
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sites",
    "serializers",
    "fixtures",
]
POSTGRES = (os.environ.get(URL_VAR, "").startswith("postgres")
            and os.environ.get("DJANGO_DATA_PGKINDS") == "1")
if POSTGRES:
    INSTALLED_APPS += ["django.contrib.postgres", "django_data.pgkinds"]
DATABASES = databases(db_path())
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SILENCED_SYSTEM_CHECKS = ["fields.W342", "fields.W340"]
