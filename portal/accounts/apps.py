from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        # Sign-in, sign-out and failed password sign-ins land in the audit log (issue 13). Django announces
        # them only through these signals, whichever backend or view signed the user in.
        from django.contrib.auth import signals

        from portal.accounts import audit_signals

        signals.user_logged_in.connect(audit_signals.signed_in, dispatch_uid="audit-signed-in")
        signals.user_logged_out.connect(audit_signals.signed_out, dispatch_uid="audit-signed-out")
        signals.user_login_failed.connect(audit_signals.sign_in_failed, dispatch_uid="audit-sign-in-failed")

        # Lockouts by django-axes land there too (issue 8); failed sign-ins are the auth.refused above.
        from axes.signals import user_locked_out

        from portal.accounts import sign_in_audit

        user_locked_out.connect(sign_in_audit.on_locked_out, dispatch_uid="portal.sign_in_audit.locked_out")
