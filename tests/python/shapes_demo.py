#!/usr/bin/env python3
"""Creates the shapes test site's database (tests/sites/shapes) with its
demo data: the tables, then one object of each awkward shape. Content types of shapes.extra get new ids (higher than a fresh
database gives them), so that a restore must map them by natural key."""

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from shapes.core.models import (  # noqa: E402
    Base, Explicit, Implicit, Left, Measure, Note, ProxyBase, Right)
from shapes.extra.models import Thing  # noqa: E402

# Content types first: the app without migrations refers to them (on
# PostgreSQL and MariaDB, its tables need theirs).
call_command("migrate", "contenttypes", interactive=False, verbosity=0)
call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
# Content types (and permissions) of shapes.extra anew: other ids.
ContentType.objects.filter(app_label="extra").delete()
call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)

with transaction.atomic():
    b1 = Base.objects.create(parent_data=1)
    ProxyBase.objects.create(parent_data=7)
    Explicit.objects.create(parent_data=2, child_data=3)
    Implicit.objects.create(parent_data=4, owner=b1, child_data=5)
    Measure.objects.create(value=None, label="", strict=None)
    m = Measure.objects.create(value=1.5, label="x", strict=1)
    Measure.objects.filter(pk=m.pk).update(strict=-1)
    left = Left.objects.create(right=None)
    right = Right.objects.create(left=left)
    left.right = right
    left.save()
    Left.objects.create(right=None)
    thing = Thing.objects.create(name="kept out")
    proxy = ContentType.objects.get_for_model(ProxyBase, for_concrete_model=False)
    Note.objects.create(owner_type=proxy, owner_id=b1.pk, text="about a proxy")
    Note.objects.create(owner_type=ContentType.objects.get_for_model(Thing),
                        owner_id=thing.pk, text="about an excluded model")
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import Group, Permission
        g = Group.objects.create(name="proxies")
        g.permissions.set(Permission.objects.filter(
            content_type__in=[proxy, ContentType.objects.get_for_model(Thing)]))
