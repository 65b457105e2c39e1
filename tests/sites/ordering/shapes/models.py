from django.db import connection, models

# Text compared as the database's collation does (not bytewise): ICU's
# en-US on PostgreSQL, utf8mb4_general_ci on MariaDB; SQLite's BINARY.
COLLATION = {"postgresql": "en-US-x-icu", "mysql": "utf8mb4_general_ci"}.get(connection.vendor)


class Actor(models.Model):
    name = models.CharField(max_length=40, primary_key=True, db_collation=COLLATION)


class Label(models.Model):
    text = models.CharField(max_length=40, db_collation=COLLATION)

    class Meta:
        ordering = ["text"]


class Place(models.Model):
    name = models.CharField(max_length=40, db_collation=COLLATION)

    class Meta:
        ordering = ["name"]


class Shop(Place):
    """dumpdata orders it by its parent's Meta.ordering."""
    owner = models.ForeignKey(Actor, null=True, blank=True, on_delete=models.CASCADE)


class Film(models.Model):
    title = models.CharField(max_length=40)
    # No ordering: the database's order of the keys.
    actors = models.ManyToManyField(Actor, blank=True)
    labels = models.ManyToManyField(Label, blank=True)
    # Ordered through content_type (app_label, model), then codename.
    permissions = models.ManyToManyField("auth.Permission", blank=True)
    shops = models.ManyToManyField(Shop, blank=True)


class PersonManager(models.Manager):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class Person(models.Model):
    """Django's fixtures.Person: a natural key its MTI children inherit."""
    name = models.CharField(max_length=40)
    objects = PersonManager()

    def natural_key(self):
        return (self.name,)


class VisibleManager(PersonManager):
    def get_queryset(self):
        return super().get_queryset().filter(cover_blown=False)


class Spy(Person):
    """Django's fixtures.Spy: the default manager hides blown covers."""
    objects = VisibleManager()
    cover_blown = models.BooleanField(default=False)


class Token(models.Model):
    """MariaDB's uuid type orders time-based UUIDs with their groups swapped."""
    id = models.UUIDField(primary_key=True)
    note = models.CharField(max_length=20)


class ThingManager(models.Manager):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class Thing(models.Model):
    name = models.CharField(max_length=40, unique=True)
    objects = ThingManager()

    def natural_key(self):
        return (self.name,)


class NoKey(models.Model):
    """Django's fixtures.FKAsPKNoNaturalKey: dumpdata never calls its
    natural_key()."""
    thing = models.ForeignKey(Thing, on_delete=models.CASCADE, primary_key=True)

    def natural_key(self):
        raise NotImplementedError("This method was not expected to be called.")


class Holder(models.Model):
    thing = models.ForeignKey(Thing, on_delete=models.CASCADE)
    nokey = models.ForeignKey(NoKey, null=True, blank=True, on_delete=models.CASCADE)


class Mission(models.Model):
    """A natural foreign key to a spy: Django reads its key through the
    base manager, hidden or not."""
    spy = models.ForeignKey(Spy, null=True, blank=True, on_delete=models.CASCADE)
