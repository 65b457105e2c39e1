"""Fills the django_data site's (migrated) database: Django's
tests/serializers/test_data.py through its own create functions, as its
assert_serializer() does (in one transaction, constraint checks off),
a group and a user with permissions of several apps, and fixture files
of Django's tests/fixtures (loaddata). On PostgreSQL also pgkinds' rows."""

import warnings

import django

django.setup()
# test_data.py saves naive datetimes, also on a site with time zones.
warnings.filterwarnings("ignore", message=".*received a naive datetime")

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection, transaction

from serializers import test_data

with transaction.atomic():
    for helper, pk, model, value in test_data.test_data:
        with connection.constraint_checks_disabled():
            helper.create_object(pk, model, value)

perms = list(Permission.objects.filter(
    content_type__app_label__in=["auth", "contenttypes", "sites", "serializers", "fixtures"],
).order_by("pk"))[::5]
group = Group.objects.create(name="Editors")
group.permissions.set(perms)
user = User.objects.create_user("alice", "alice@example.com", "not a secret",
                                first_name="Älice", last_name="O'Hara")
user.groups.add(group)
user.user_permissions.set(perms[:4])
User.objects.create_superuser("root", "", "not a secret either")

# Text keys whose order is the database's collation's (ICU en-US,
# utf8mb4_general_ci): not bytewise, where "Bob" < "alice".
from serializers.models import Actor
for name in ["alice", "Bob", "Zażółć", "émile", "Östen"]:
    Actor.objects.get_or_create(name=name)

call_command(
    "loaddata",
    "fixture1.json", "fixture2.json", "fixture6.json", "fixture7.xml",
    "fixture8.json", "fixture9.xml", "circular_reference.json",
    "forward_reference_m2m.json",
    verbosity=0,
)

if settings.POSTGRES:
    from django_data.pgkinds import demo
    demo.fill()
