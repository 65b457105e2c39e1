from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "plain.shop"
    label = "shop"
