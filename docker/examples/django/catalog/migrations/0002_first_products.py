"""A few rows, so the page shows content that came from PostgreSQL."""
from django.db import migrations


def add(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    for name in ["Teapot", "Kettle", "Mug"]:
        Product.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
