"""One model per field class (see ../../settings.py)."""

from lino.api import ad


class Plugin(ad.Plugin):
    verbose_name = "Field kinds"
