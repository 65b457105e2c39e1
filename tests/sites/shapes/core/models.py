from django.contrib.contenttypes.models import ContentType
from django.db import models


class StrictField(models.IntegerField):
    """A custom field whose to_python() refuses negative numbers with a
    TypeError (not a ValidationError)."""

    def to_python(self, value):
        if isinstance(value, int) and value < 0:
            raise TypeError("negative: %r" % value)
        return super().to_python(value)


class Base(models.Model):
    parent_data = models.IntegerField()


class ProxyBase(Base):
    class Meta:
        proxy = True


class Explicit(Base):
    """An explicit parent link (column parent_id, not *_ptr_id)."""
    parent = models.OneToOneField(Base, models.CASCADE, parent_link=True)
    child_data = models.IntegerField()


class Implicit(Base):
    """base_ptr, and a foreign key of its own to the parent's model."""
    owner = models.ForeignKey(Base, models.CASCADE, related_name="implicit_children")
    child_data = models.IntegerField()


class Measure(models.Model):
    """Values that full_clean() refuses but the database holds."""
    value = models.FloatField(null=True)
    label = models.CharField(max_length=20)
    strict = StrictField(null=True)


class Left(models.Model):
    """A cycle with Right through a nullable key without blank=True."""
    right = models.ForeignKey("Right", models.SET_NULL, null=True, related_name="+")


class Right(models.Model):
    left = models.ForeignKey(Left, models.CASCADE, related_name="rights")


class Note(models.Model):
    """A generic relation, by content type."""
    owner_type = models.ForeignKey(ContentType, models.CASCADE)
    owner_id = models.IntegerField()
    text = models.CharField(max_length=50)
