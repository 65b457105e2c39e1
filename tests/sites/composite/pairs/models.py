from django.db import models


class Pair(models.Model):
    """Its primary key is two columns."""
    pk = models.CompositePrimaryKey("left", "right")
    left = models.IntegerField()
    right = models.CharField(max_length=5)
    note = models.CharField(max_length=20, blank=True)


class Defaulted(models.Model):
    """Values the database computes when the INSERT leaves them out."""
    count = models.IntegerField(db_default=7)
    label = models.CharField(max_length=10, db_default="x", blank=True)
