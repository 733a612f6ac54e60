from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("costs", "0002_i10_forecast_error"),
    ]

    operations = [
        migrations.AddField(
            model_name="budgetpolicy",
            name="version",
            field=models.PositiveIntegerField(
                default=0, editable=False, help_text="Raised by every saved edit; a stale edit form is refused."
            ),
        ),
    ]
