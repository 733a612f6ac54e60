from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from portal.accounts import sign_in_audit

        user_login_failed.connect(sign_in_audit.on_login_failed, dispatch_uid="portal.sign_in_audit.failed")
        user_locked_out.connect(sign_in_audit.on_locked_out, dispatch_uid="portal.sign_in_audit.locked_out")
