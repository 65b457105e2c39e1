"""A plain Django site (no Lino) with the shapes a restore gets wrong
easily: a proxy model with its own content type and permissions, MTI
children with an explicit parent link and with a foreign key to their
parent, values that full_clean() refuses (NULL in a FloatField without
blank=True, '' in a CharField, a custom field whose to_python raises
TypeError), a foreign-key cycle through a nullable key without
blank=True, and an app (shapes.extra) for `-e extra`. Its database is the
SQLite file named by DUMP2PY_TEST_DB (see ../testdb.py), or
DUMP2PY_TEST_DB_URL."""

from testdb import databases, db_path

SECRET_KEY = "dump2py tests: not secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "shapes.core",
    "shapes.extra",
]
DATABASES = databases(db_path())
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
