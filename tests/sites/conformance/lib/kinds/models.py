"""One model per field class, its field named `v` (nullable where the
field allows it). tests/python/field_classes.py lists the field classes of
Django, Lino and lino_xl and fails when one has no model here."""

from django.db import models
from django.db.models import F

from lino.api import dd
from lino.core import fields as lf
from lino.modlib.gfks.fields import GenericForeignKey, GenericForeignKeyIdField
from lino.utils.mldbc.fields import BabelCharField, BabelTextField, LanguageField
from lino_xl.lib.sepa.fields import BICField, IBANField, UppercaseTextField


class Colors(dd.ChoiceList):
    verbose_name = "Color"


Colors.add_item("r", "Red", "red")
Colors.add_item("g", "Green", "green")
Colors.add_item("ü", "Ümlaut", "umlaut")


def value_model(name, field):
    """A model `name` whose field `v` is `field`."""
    return type(name, (dd.Model,), {"__module__": __name__, "v": field})


# Primary keys of each auto field class: the field is the pk, no `v`.
class Auto(dd.Model):
    id = models.AutoField(primary_key=True)


class BigAuto(dd.Model):
    id = models.BigAutoField(primary_key=True)


class SmallAuto(dd.Model):
    id = models.SmallAutoField(primary_key=True)


N = dict(null=True, blank=True)

BigInteger = value_model("BigInteger", models.BigIntegerField(**N))
Binary = value_model("Binary", models.BinaryField(**N))
Boolean = value_model("Boolean", models.BooleanField(**N))
Char = value_model("Char", models.CharField(max_length=20, **N))
Date = value_model("Date", models.DateField(**N))
DateTime = value_model("DateTime", models.DateTimeField(**N))
Decimal0 = value_model("Decimal0", models.DecimalField(max_digits=5, decimal_places=0, **N))
Decimal2 = value_model("Decimal2", models.DecimalField(max_digits=12, decimal_places=2, **N))
Decimal8 = value_model("Decimal8", models.DecimalField(max_digits=20, decimal_places=8, **N))
Duration = value_model("Duration", models.DurationField(**N))
Email = value_model("Email", models.EmailField(max_length=60, **N))
File = value_model("File", models.FileField(max_length=80, **N))
FilePath = value_model("FilePath", models.FilePathField(path="/nonexistent", max_length=80, **N))
Float = value_model("Float", models.FloatField(**N))
GenericIPAddress = value_model("GenericIPAddress", models.GenericIPAddressField(**N))
Image = value_model("Image", models.ImageField(max_length=80, **N))
Integer = value_model("Integer", models.IntegerField(**N))
JSON = value_model("JSON", models.JSONField(**N))
PositiveBigInteger = value_model("PositiveBigInteger", models.PositiveBigIntegerField(**N))
PositiveInteger = value_model("PositiveInteger", models.PositiveIntegerField(**N))
PositiveSmallInteger = value_model("PositiveSmallInteger", models.PositiveSmallIntegerField(**N))
Slug = value_model("Slug", models.SlugField(max_length=30, allow_unicode=True, **N))
SmallInteger = value_model("SmallInteger", models.SmallIntegerField(**N))
Text = value_model("Text", models.TextField(**N))
Time = value_model("Time", models.TimeField(**N))
URL = value_model("URL", models.URLField(max_length=100, **N))
UUID = value_model("UUID", models.UUIDField(**N))


class Generated(dd.Model):
    base = models.BigIntegerField(**N)
    v = models.GeneratedField(expression=F("base") * 2, output_field=models.BigIntegerField(),
                              db_persist=True)


class Target(dd.Model):
    name = models.CharField(max_length=20, blank=True)


class ForeignKey(dd.Model):
    v = dd.ForeignKey(Target, related_name="+", **N)


class OneToOne(dd.Model):
    v = models.OneToOneField(Target, on_delete=models.CASCADE, related_name="+", **N)


class ManyToMany(dd.Model):
    name = models.CharField(max_length=20, blank=True)
    v = models.ManyToManyField(Target, blank=True, related_name="+")


class OrderWrt(dd.Model):
    """order_with_respect_to adds the field `_order` (Django's OrderWrt)."""
    class Meta:
        order_with_respect_to = "owner"

    owner = dd.ForeignKey(Target, related_name="+")


# Lino's field classes (lino.core.fields, choice lists, babel, gfks)
LinoPassword = value_model("LinoPassword", lf.PasswordField(max_length=20, **N))
LinoRichText = value_model("LinoRichText", lf.RichTextField(**N))
LinoPreviewText = value_model("LinoPreviewText", lf.PreviewTextField(**N))
LinoPercentage = value_model("LinoPercentage", lf.PercentageField(**N))
LinoTime = value_model("LinoTime", lf.TimeField(**N))
LinoDatePicker = value_model("LinoDatePicker", lf.DatePickerField(**N))
LinoMonth = value_model("LinoMonth", lf.MonthField(**N))
LinoPrice = value_model("LinoPrice", lf.PriceField(**N))
LinoChar = value_model("LinoChar", lf.CharField(max_length=20, **N))
LinoQuantity = value_model("LinoQuantity", lf.QuantityField(**N))
LinoDuration = value_model("LinoDuration", lf.DurationField(**N))
LinoIncompleteDate = value_model("LinoIncompleteDate", lf.IncompleteDateField(**N))
LinoRecurrence = value_model("LinoRecurrence", lf.RecurrenceField(**N))
LinoChoiceList = value_model("LinoChoiceList", Colors.field(**N))
LinoBabelChar = value_model("LinoBabelChar", BabelCharField(max_length=20, blank=True))
LinoBabelText = value_model("LinoBabelText", BabelTextField(blank=True))
LinoLanguage = value_model("LinoLanguage", LanguageField(**N))


class LinoGfkId(dd.Model):
    owner_type = dd.ForeignKey("contenttypes.ContentType", related_name="+", **N)
    v = GenericForeignKeyIdField(owner_type, **N)
    # Lino's GenericForeignKey: a field without a column (Django 5.1+)
    owner = GenericForeignKey("owner_type", "v")


# lino_xl's (lino_xl.lib.sepa.fields)
XlUppercaseText = value_model("XlUppercaseText", UppercaseTextField(max_length=20, **N))
XlBIC = value_model("XlBIC", BICField(**N))
XlIBAN = value_model("XlIBAN", IBANField(**N))


# Lino's web front end has no widget for some field types (binary, JSON,
# ...): a table per model that shows only its primary key keeps Lino from
# building one for every field at startup.
for _m in list(globals().values()):
    if isinstance(_m, type) and issubclass(_m, dd.Model) and _m.__module__ == __name__ \
            and not _m._meta.abstract:
        globals()[_m.__name__ + "s"] = type(_m.__name__ + "s", (dd.Table,), {
            "__module__": __name__, "model": _m, "column_names": _m._meta.pk.name})
