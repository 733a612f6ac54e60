from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_i10_discovered_resources"),
    ]

    operations = [
        migrations.AddField(
            model_name="environment",
            name="version",
            field=models.PositiveIntegerField(
                default=1, editable=False, help_text="Raised by every saved edit; a stale edit form is refused."
            ),
        ),
    ]
