"""Models whose data stress a Python dump and its restore."""

from lino.api import ad


class Plugin(ad.Plugin):
    verbose_name = "Things"
