"""The one page: rows from PostgreSQL and a counter in Redis, so a 200 proves both can serve."""
import redis
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render

from .models import Product

_redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def index(request):
    products = Product.objects.order_by("id")[:50]
    visits = _redis.incr("shop:visits")
    return render(request, "catalog/index.html", {"products": products, "visits": visits})


def health(request):
    """For the container's healthcheck: the process serves (it checks neither database)."""
    return HttpResponse("ok\n", content_type="text/plain")
