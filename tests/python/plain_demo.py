#!/usr/bin/env python3
"""Creates the plain Django test site's database (tests/sites/plain) with
its demo data: `migrate --run-syncdb`, then objects of every kind the
site has. Run with DJANGO_SETTINGS_MODULE=plain.settings, DUMP2PY_TEST_DB
and tests/sites on PYTHONPATH."""

import datetime
import uuid
from decimal import Decimal

import django

django.setup()

from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from plain.shop.models import (  # noqa: E402
    Department, Employee, Item, Note, Place, Shop, Stock, Tag, Token)

UTC = datetime.timezone.utc

call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)

with transaction.atomic():
    editors = Group.objects.create(name="editors")
    editors.permissions.set(Permission.objects.filter(codename__in=["add_item", "change_item"]))
    Group.objects.create(name="empty")
    ann = User.objects.create_user("ann", "ann@example.com", "secret", first_name="Ann")
    ann.groups.add(editors)
    ann.user_permissions.add(Permission.objects.get(codename="view_note"))
    User.objects.filter(pk=ann.pk).update(
        last_login=datetime.datetime(2021, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        date_joined=datetime.datetime(2020, 1, 2, 3, 4, 5, 654321, tzinfo=UTC))
    bob = User.objects.create_superuser("bob", "bob@example.com", "secret")

    Place.objects.create(name="Just a place")
    north = Shop.objects.create(name="North", opened=datetime.date(1999, 12, 31))
    south = Shop.objects.create(name="Süd", opened=None)
    red = Tag.objects.create(slug="red", label="Red")
    Tag.objects.create(slug="big-one", label="Big")
    Token.objects.create(key=uuid.UUID("12345678-1234-5678-1234-567812345678"), owner=ann,
                         data={"a": [1, 2.5, None, True], "b": {"c": "ä"}},
                         lifetime=datetime.timedelta(days=1, seconds=7203, microseconds=5))
    Token.objects.create(owner=bob, data=[], lifetime=None)

    old = Item.objects.create(name="Old", price=Decimal("12.50"))
    new = Item.objects.create(name="New", price=Decimal("0.99"))
    old.replaced_by = new  # a forward reference: a higher id
    old.save()
    old.tags.add(red)
    new.tags.set(Tag.objects.all())
    Stock.objects.create(item=old, shop=north, quantity=3)
    Stock.objects.create(item=new, shop=south, quantity=-1)

    for obj, text in ((old, "about an item"), (red, "about a tag"), (ann, "about a user")):
        Note.objects.create(owner=obj, text=text)
    # Timestamps from the past: a restore must not touch them.
    Note.objects.update(created=datetime.datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC),
                        modified=datetime.datetime(2002, 3, 4, 5, 6, 7, 8, tzinfo=UTC),
                        day=datetime.date(2003, 4, 5))

    # The cycle: a department's head works there.
    sales = Department.objects.create(name="Sales")
    boss = Employee.objects.create(name="Boss", department=sales)
    Employee.objects.create(name="Clerk", department=sales)
    sales.head = boss
    sales.save()
    Department.objects.create(name="Headless")
