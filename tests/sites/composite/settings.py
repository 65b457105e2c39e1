"""A plain Django site with Django 5's keys and defaults that no peer
handles well: a CompositePrimaryKey (Lino can't start with one) and
db_default. Database as in ../testdb.py; `migrate --run-syncdb`."""

from testdb import databases, db_path

SECRET_KEY = "dump2py tests: not secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "composite.pairs"]
DATABASES = databases(db_path())
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
