"""The rows of the ordering site: `django-admin shell < data.py`."""
import uuid

from django.contrib.auth.models import Permission
from ordering.shapes.models import (Actor, Film, Holder, Label, Mission, NoKey, Person,
                                    Place, Shop, Spy, Thing, Token)

actors = [Actor.objects.create(name=n) for n in ["Zażółć", "alice", "Actor name", "Bob", "émile"]]
labels = [Label.objects.create(text=t) for t in ["beta", "Alpha", "gamma", "Éclair", "alpine"]]
for n in ["Quay", "harbour", "Dock"]:
    Place.objects.create(name=n)
shops = [Shop.objects.create(name=n, owner=actors[i]) for i, n in enumerate(["zeta", "alpha", "Beta"])]
film = Film.objects.create(title="One")
# Without Meta.ordering Django asks no order: the database may list them
# in any order (PostgreSQL by its plan), so one.
film.actors.set(actors[2:3])
film.labels.set(labels)
film.shops.set(shops)
film.permissions.set(Permission.objects.filter(
    codename__in=["add_user", "view_group", "change_film", "delete_permission",
                  "add_label", "view_token", "change_user"]))
Film.objects.create(title="Two").labels.set(labels[:2])
Person.objects.create(name="Civilian")
Spy.objects.create(name="Hidden", cover_blown=True)
seen = Spy.objects.create(name="Seen", cover_blown=False)
Spy.objects.create(name="Blown", cover_blown=True)
# Version 1 (time-based): MariaDB's uuid type stores and orders them with
# their groups swapped.
for u in ["ffffffff-0000-1000-8000-000000000001", "00000000-0000-1000-8000-0000000000ff",
          "11111111-0000-1000-8000-000000000010"]:
    Token.objects.create(id=uuid.UUID(u), note=u[:4])
t1 = Thing.objects.create(name="b")
t2 = Thing.objects.create(name="a")
NoKey.objects.create(thing=t1)
Holder.objects.create(thing=t2)
Holder.objects.create(thing=t1)
Mission.objects.create(spy=seen)
Mission.objects.create(spy=None)
