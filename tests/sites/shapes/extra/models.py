from django.db import models


class Thing(models.Model):
    """Of an app left out with `-e extra`: its content type stays referred to."""
    name = models.CharField(max_length=20)
