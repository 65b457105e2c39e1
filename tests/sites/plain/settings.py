"""A plain Django site (no Lino) for restore.py's own loader: users,
groups and permissions, MTI, UUID and slug primary keys, many-to-many
with and without `through`, JSON, durations, a GenericForeignKey,
auto_now fields, forward references and a foreign-key cycle. Its
database is the SQLite file named by DUMP2PY_TEST_DB (see ../testdb.py),
or DUMP2PY_TEST_DB_URL. Its app has no migrations: `migrate
--run-syncdb` creates its tables."""

from testdb import databases, db_path

SECRET_KEY = "dump2py tests: not secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Europe/Brussels"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "plain.shop",
]
DATABASES = databases(db_path())
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
