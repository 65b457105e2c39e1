import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Place(models.Model):
    name = models.CharField(max_length=100)


class Shop(Place):
    """MTI: a child of Place."""
    opened = models.DateField(null=True)


class Tag(models.Model):
    slug = models.SlugField(primary_key=True)
    label = models.CharField(max_length=100)


class Token(models.Model):
    key = models.UUIDField(primary_key=True, default=uuid.uuid4)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
    data = models.JSONField(default=dict, blank=True)
    lifetime = models.DurationField(null=True, blank=True)


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    tags = models.ManyToManyField(Tag, blank=True)
    shops = models.ManyToManyField(Shop, through="Stock", blank=True)
    # A forward reference: an item may name one of a higher id.
    replaced_by = models.ForeignKey("self", models.SET_NULL, null=True, blank=True)


class Stock(models.Model):
    item = models.ForeignKey(Item, models.CASCADE)
    shop = models.ForeignKey(Shop, models.CASCADE)
    quantity = models.IntegerField()


class Note(models.Model):
    """A GenericForeignKey, and timestamps that a restore must keep."""
    owner_type = models.ForeignKey(ContentType, models.CASCADE)
    owner_id = models.CharField(max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)
    day = models.DateField(auto_now=True)


class Department(models.Model):
    """A foreign-key cycle with Employee."""
    name = models.CharField(max_length=100)
    head = models.ForeignKey("Employee", models.SET_NULL, null=True, blank=True, related_name="+")


class Employee(models.Model):
    name = models.CharField(max_length=100)
    department = models.ForeignKey(Department, models.CASCADE)
