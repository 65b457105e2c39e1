"""An accounting site of Lino's own plugins and demo data (lino_xl's
contacts, accounting, vat, trading, finan: the `minimal_ledger`,
`demo_bookings` and `payments` fixtures of lino_book's cosi demos), with
its database in the SQLite file named by DUMP2PY_TEST_DB (see
../testdb.py). The cosi demos need lino_cosi, and min9 (lino_book's
other ledger demo) doesn't start with the installed Lino; neither does
any site with lino_xl's cal without num2words."""

from testdb import TestSiteMixin, db_path

db_path()  # fail early and clearly when DUMP2PY_TEST_DB is unset

from lino.projects.std.settings import *  # noqa: E402,F401,F403
from lino.utils import i2d  # noqa: E402


class Site(TestSiteMixin, Site):  # noqa: F405
    title = "dump2py ledger test site"
    languages = "en de fr"
    user_types_module = "lino_xl.lib.xl.user_types"
    demo_fixtures = "std minimal_ledger demo demo_bookings payments demo2".split()
    the_demo_date = i2d(20150312)
    is_demo_site = True
    default_build_method = "weasy2pdf"

    def get_installed_plugins(self):
        yield super().get_installed_plugins()
        yield "lino.modlib.users"
        yield "lino_xl.lib.countries"
        yield "lino_xl.lib.contacts"
        yield "lino_xl.lib.accounting"
        yield "lino_xl.lib.bevat"
        yield "lino_xl.lib.trading"
        yield "lino_xl.lib.finan"
        yield "lino_xl.lib.sepa"
        yield "lino.modlib.weasyprint"

    def get_plugin_configs(self):
        yield super().get_plugin_configs()
        # lino_book's demo_data (the volumes' files) isn't in the wheel.
        yield ("uploads", "with_volumes", False)
        yield ("vat", "declaration_plugin", "lino_xl.lib.bevat")


SITE = Site(globals())
