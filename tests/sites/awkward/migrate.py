"""Data migrations of the awkward site (its `migration_class`).

When a Python dump is restored, Lino's `install_migrations` (in
lino.utils.dpy) calls `migrate_from_<SOURCE_VERSION with . as _>(globals_dict)`
of this class with the namespace of the dump's restore.py, as long as the
dump's version differs from the site's: each method rebinds what changed
and returns the version it migrated to (a string, greater than the one it
came from).

Version 1.0 is the site as it is by default; version 2.0 is the site with
AWKWARD_VERSION=2.0 AWKWARD_RENAMED=1, where things.Note's field `text` is
called `body`.
"""

from lino.utils.dpy import Migrator as LinoMigrator


class Migrator(LinoMigrator):

    def migrate_from_1_0(self, globals_dict):
        """things.Note.text is now things.Note.body."""
        # What a dump offers to migrations: the model globals and helpers
        # of restore.py, and its create_<table> functions to replace.
        things_Note = globals_dict["things_Note"]
        new_content_type_id = globals_dict["new_content_type_id"]

        def create_things_note(id, owner_type_id, owner_id, text):
            owner_type_id = new_content_type_id(owner_type_id)
            return things_Note(id=id, owner_type_id=owner_type_id,
                               owner_id=owner_id, body=text)

        globals_dict["create_things_note"] = create_things_note
        return "2.0"
