"""Shared helpers for the dump2py test sites: where the database and the
site's working files (media, static, tmp) go.

Everything a site writes goes next to the database file named by the
environment variable DUMP2PY_TEST_DB, never into an installed package.
"""

import os
import tempfile
from pathlib import Path

ENV_VAR = "DUMP2PY_TEST_DB"


def db_path():
    value = os.environ.get(ENV_VAR)
    if not value:
        raise RuntimeError(
            f"{ENV_VAR} is not set: set it to the path of the SQLite database "
            f"file that this test site is to use (e.g. /tmp/t1/db.sqlite3)")
    return Path(value).absolute()


def site_dir(db):
    """The directory for the site's media, static and temporary files:
    `<db file>.site` beside the database."""
    d = db.parent / (db.name + ".site")
    (d / "tmp").mkdir(parents=True, exist_ok=True)
    # initdb --removemedia moves the media dir to tempfile.gettempdir()/media.bak;
    # keep that per site so that parallel test runs don't race on /tmp/media.bak.
    tempfile.tempdir = str(d / "tmp")
    return d


URL_VAR = "DUMP2PY_TEST_DB_URL"


def databases(db):
    """SQLite at `db`, unless DUMP2PY_TEST_DB_URL names a PostgreSQL or
    MariaDB database (postgres://user@host:port/name, mysql://...); the
    site's working files stay beside `db` either way."""
    url = os.environ.get(URL_VAR)
    if not url:
        return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)}}
    from urllib.parse import urlsplit, unquote
    u = urlsplit(url)
    engine = {"postgres": "postgresql", "postgresql": "postgresql",
              "mysql": "mysql", "mariadb": "mysql"}.get(u.scheme)
    if engine is None:
        raise RuntimeError(f"{URL_VAR}: unknown scheme in {url}")
    default = {
        "ENGINE": "django.db.backends." + engine,
        "NAME": unquote(u.path.lstrip("/")),
        "USER": unquote(u.username or ""),
        "PASSWORD": unquote(u.password or ""),
        "HOST": u.hostname or "",
        "PORT": str(u.port or ""),
    }
    if engine == "mysql":
        import pymysql
        pymysql.install_as_MySQLdb()
        default["OPTIONS"] = {"charset": "utf8mb4"}
        default["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
    return {"default": default}


class TestSiteMixin:
    """Mix into a Lino Site class: uses the DB and site dir from the
    environment instead of `<project dir>/default.db`."""

    # Lino calls setlocale() with the locale Python reports, which is
    # en_US.UTF-8 under LANG=C.UTF-8 and then prints a warning on stdout
    # on machines without that locale.
    site_locale = "C.UTF-8"

    def init_before_local(self, settings_globals, local_apps):
        super().init_before_local(settings_globals, local_apps)
        db = db_path()
        self.site_dir = site_dir(db)
        self.django_settings.update(
            DATABASES=databases(db),
            STATIC_ROOT=str(self.site_dir / "static_root"),
        )
