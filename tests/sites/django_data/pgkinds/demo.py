"""pgkinds' rows: empty, NULL, nested, non-ASCII, infinite and empty
ranges."""

import datetime
import decimal
import uuid

from django.db.backends.postgresql.psycopg_any import (
    DateRange, DateTimeTZRange, NumericRange)
from django.utils import timezone

from .models import Arrays, HStore, Ranges


def fill():
    D = decimal.Decimal
    stamp = datetime.datetime(2006, 6, 16, 10, 42, 37, 123456)
    if timezone.is_naive(timezone.now()) is False:
        stamp = timezone.make_aware(stamp)
    Arrays.objects.create(
        ints=[1, -2, None, 2**31 - 1], texts=["a", "", "Ä \"q\" \\ '", "NULL", "x,y"],
        grid=[[1, 2], [3, -9223372036854775808]], dates=[datetime.date(2006, 6, 16)],
        stamps=[stamp], decimals=[D("1.50"), D("-0.01")], floats=[0.1, -2.5e300, 3.0],
        flags=[True, False], uuids=[uuid.UUID(int=0x1234)])
    Arrays.objects.create(ints=[], texts=[], grid=[], dates=[], stamps=[], decimals=[],
                          floats=[], flags=[], uuids=[])
    Arrays.objects.create()
    HStore.objects.create(v={"a": "1", "b": None, "Ä \"q\"": "\\ '", "": "empty"})
    HStore.objects.create(v={})
    HStore.objects.create()
    Ranges.objects.create(
        ints=NumericRange(1, 10), bigints=NumericRange(-2**62, None),
        decimals=NumericRange(D("1.5"), D("2.25"), "[]"),
        dates=DateRange(datetime.date(2006, 6, 16), datetime.date(2006, 7, 1)),
        stamps=DateTimeTZRange(stamp, None, "()"))
    Ranges.objects.create(
        ints=NumericRange(empty=True), bigints=NumericRange(None, None),
        decimals=NumericRange(None, D("0"), "(]"),
        dates=DateRange(None, datetime.date(2006, 6, 16)),
        stamps=DateTimeTZRange(empty=True))
    Ranges.objects.create()
