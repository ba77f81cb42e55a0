from django.contrib.auth.base_user import AbstractBaseUser
from django.db import migrations, models


def mark_existing_tokens(apps, schema_editor) -> None:
    """Tokens issued before this migration keep working until their owner's next password change."""
    ApiToken = apps.get_model("arena", "ApiToken")
    for token in ApiToken.objects.select_related("user"):
        # The historical user has no methods; the hash depends only on its password field.
        token.password_marker = AbstractBaseUser.get_session_auth_hash(token.user)
        token.save(update_fields=["password_marker"])


class Migration(migrations.Migration):
    dependencies = [("arena", "0004_match_analysis")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="password_marker",
            field=models.CharField(default="", max_length=128),
        ),
        migrations.RunPython(mark_existing_tokens, migrations.RunPython.noop),
    ]
