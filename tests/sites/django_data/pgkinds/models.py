"""django.contrib.postgres' fields that PostgreSQL alone stores: arrays,
hstore and ranges (demo.py fills them)."""

from django.contrib.postgres import fields as pg
from django.db import models


class Arrays(models.Model):
    ints = pg.ArrayField(models.IntegerField(null=True), null=True)
    texts = pg.ArrayField(models.CharField(max_length=20), default=list, blank=True)
    grid = pg.ArrayField(pg.ArrayField(models.BigIntegerField()), null=True)
    dates = pg.ArrayField(models.DateField(), null=True)
    stamps = pg.ArrayField(models.DateTimeField(), null=True)
    decimals = pg.ArrayField(models.DecimalField(max_digits=6, decimal_places=2), null=True)
    floats = pg.ArrayField(models.FloatField(), null=True)
    flags = pg.ArrayField(models.BooleanField(), null=True)
    uuids = pg.ArrayField(models.UUIDField(), null=True)


class HStore(models.Model):
    v = pg.HStoreField(null=True)


class Ranges(models.Model):
    ints = pg.IntegerRangeField(null=True)
    bigints = pg.BigIntegerRangeField(null=True)
    decimals = pg.DecimalRangeField(null=True)
    dates = pg.DateRangeField(null=True)
    stamps = pg.DateTimeRangeField(null=True)
