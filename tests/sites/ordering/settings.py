"""A plain Django site (no Lino) with the shapes whose order dumpdata
takes from the database (issue 19): a text primary key and text that
many-to-many lists are ordered by, compared in the database's collation
(ICU on PostgreSQL, utf8mb4_general_ci on MariaDB); a many-to-many list
ordered through a relation (auth.Permission); MTI children ordered by
their parent's Meta.ordering; a UUID primary key (MariaDB's own uuid
type); a default manager that hides rows; a natural_key() that must never
be called. Its database is the SQLite file named by DUMP2PY_TEST_DB (see
../testdb.py), or DUMP2PY_TEST_DB_URL. Its app has no migrations:
`migrate --run-syncdb` creates its tables."""

from testdb import databases, db_path

SECRET_KEY = "dump2py tests: not secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "ordering.shapes",
]
DATABASES = databases(db_path())
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SILENCED_SYSTEM_CHECKS = ["fields.W342"]
