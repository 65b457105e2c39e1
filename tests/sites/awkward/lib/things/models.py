import os

from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models

from lino.api import dd

# Variants of the site (see awkward/settings.py): a renamed field, a proxy.
NOTE_RENAMED = os.environ.get("AWKWARD_RENAMED") == "1"
WITH_PROXY = os.environ.get("AWKWARD_PROXY") == "1"
# Alpha and Beta's cycle through nullable keys without blank=True.
CYCLE_BLANK = os.environ.get("AWKWARD_STRICT_CYCLE") != "1"
# The name of things.Note's text field in this variant: "text" or "body".
NOTE_TEXT = "body" if NOTE_RENAMED else "text"


class Colors(dd.ChoiceList):
    verbose_name = "Color"


Colors.add_item("r", "Red", "red")
Colors.add_item("g", "Green", "green")
Colors.add_item("b", "Blue", "blue")


class Tag(dd.Model):
    """A babel field (one column per site language)."""
    class Meta:
        # Django lists a thing's tags in this order (dumpdata too).
        ordering = ["name"]

    name = dd.BabelCharField("Name", max_length=100)


class Code(dd.Model):
    """A text primary key."""
    code = models.CharField(max_length=30, primary_key=True)
    label = models.CharField(max_length=50, blank=True)


class Custom(dd.Model):
    """A table name that is not <app>_<model>, with a FK to a text pk."""
    class Meta:
        db_table = "awk_custom_tbl"

    code = dd.ForeignKey(Code, null=True, blank=True)
    note = models.CharField(max_length=50, blank=True)


class Scalar(dd.Model):
    """One column of each scalar type."""
    dec = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    flt = models.FloatField(null=True, blank=True)
    flag = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)
    moment = models.DateTimeField(null=True, blank=True)
    clock = models.TimeField(null=True, blank=True)
    blob = models.BinaryField(null=True, blank=True)
    uid = models.UUIDField(null=True, blank=True)
    big = models.BigIntegerField(null=True, blank=True)
    pos = models.PositiveIntegerField(null=True, blank=True)
    dur = models.DurationField(null=True, blank=True)
    color = Colors.field(blank=True, null=True)


class Text(dd.Model):
    """Strings that are hard to quote."""
    short = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    # Derived from body: serialize=False keeps it out of dumpdata.
    digest = models.CharField(max_length=20, blank=True, serialize=False)


class JsonDoc(dd.Model):
    data = models.JSONField(null=True, blank=True)


class Thing(dd.Model):
    """An auto-created many-to-many link table (things_thing_tags)."""
    name = models.CharField(max_length=50)
    tags = models.ManyToManyField(Tag, blank=True)


class Node(dd.Model):
    """A tree: a FK to its own model."""
    name = models.CharField(max_length=50)
    parent = dd.ForeignKey("self", null=True, blank=True, related_name="children")


class Alpha(dd.Model):
    """Alpha and Beta point to each other (a FK cycle)."""
    name = models.CharField(max_length=50)
    beta = dd.ForeignKey("things.Beta", null=True, blank=CYCLE_BLANK, related_name="+")


class Beta(dd.Model):
    name = models.CharField(max_length=50)
    alpha = dd.ForeignKey(Alpha, null=True, blank=CYCLE_BLANK, related_name="+")


class Base(dd.Model):
    """Multi-table inheritance, two levels: Base -> Middle -> Leaf."""
    name = models.CharField(max_length=50)


class Middle(Base):
    size = models.IntegerField(default=0)


class Leaf(Middle):
    """An MTI child with a many-to-many field to a text pk."""
    colour = models.CharField(max_length=20, blank=True)
    codes = models.ManyToManyField(Code, blank=True)


class Note(dd.Model):
    """A generic foreign key (FK to django_content_type).

    With AWKWARD_RENAMED=1 the field `text` is called `body` (version 2.0
    of the site; awkward/migrate.py migrates a dump of version 1.0)."""
    owner_type = dd.ForeignKey("contenttypes.ContentType", null=True, blank=True)
    owner_id = models.PositiveIntegerField(null=True, blank=True)
    owner = GenericForeignKey("owner_type", "owner_id")
    if NOTE_RENAMED:
        body = models.CharField(max_length=100, blank=True)
    else:
        text = models.CharField(max_length=100, blank=True)


class Car(dd.Model):
    """Fields named like the locals of Lino's restore.py template: Lino's
    create_things_car(id, model, kw) starts with `kw = dict()`, which
    replaces the parameter kw, so its own dump2py loses every car."""
    model = models.CharField(max_length=50, blank=True)
    kw = models.IntegerField(null=True, blank=True)


class Stamp(dd.Model):
    """auto_now and auto_now_add fields holding old values: a restore
    gives them back unchanged (Lino's loader would set them to now)."""
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)
    day = models.DateField(auto_now=True)


if WITH_PROXY:
    class SpecialNode(Node):
        """A proxy model (AWKWARD_PROXY=1 only: Lino's dump2py fails on
        proxies, as their _meta.parents has no link field)."""
        class Meta:
            proxy = True


# Lino's web front end has no widget for some field types (float, binary,
# JSON, ...). A table per model that shows only simple columns keeps Lino
# from building one for every field at startup.
class Scalars(dd.Table):
    model = Scalar
    column_names = "id dec flag maybe day color"


class JsonDocs(dd.Table):
    model = JsonDoc
    column_names = "id"
