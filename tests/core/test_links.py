"""url_of_pk: a table's links reversed once, the same as reverse() gives for each row."""

from django.urls import reverse, set_script_prefix

from portal.core.links import url_of_pk


def test_url_of_pk_is_reverse_for_every_pk_also_under_a_script_prefix():
    for prefix in ("/", "/portal/"):
        set_script_prefix(prefix)
        try:
            for name in ("deployments:detail", "deployments:approval", "api-v1:deployment_log"):
                url = url_of_pk(name)
                assert [url(pk) for pk in (1, 9, 10, 987654321, 2**40)] == \
                    [reverse(name, args=[pk]) for pk in (1, 9, 10, 987654321, 2**40)]
        finally:
            set_script_prefix("/")
    assert url_of_pk("deployments:detail")(42).startswith("/deployments/42")
