"""The client IP: X-Forwarded-For only through trusted proxies; forged and malformed headers."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.core.client_ip import client_ip, parse_address, parse_trusted_proxies

rf = RequestFactory()


def ip(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(rf.get("/", **meta))


@pytest.mark.parametrize("entry,expected", [
    ("203.0.113.7", "203.0.113.7"),
    (" 203.0.113.7:5678 ", "203.0.113.7"),
    ("2001:db8::1", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("::ffff:198.51.100.4", "198.51.100.4"),
    ("fe80::1%eth0", "fe80::1"),
])
def test_header_entries_parse_with_ports_and_ipv6(entry, expected):
    assert str(parse_address(entry)) == expected


@pytest.mark.parametrize("entry", ["unknown", "", "1.2.3", "999.1.1.1", "[2001:db8::1", "a" * 10_000, "1.2.3.4\x00",
                                   "_hidden", "1.2.3.4:5:6", None])
def test_malformed_entries_are_not_addresses(entry):
    assert parse_address(entry) is None


def test_by_default_no_proxy_is_trusted_and_a_forged_header_is_ignored(settings):
    settings.PORTAL_TRUSTED_PROXIES = parse_trusted_proxies("")
    assert ip("192.0.2.10", "6.6.6.6") == "192.0.2.10"
    assert ip("192.0.2.10") == "192.0.2.10"


def test_one_trusted_proxy_takes_the_address_it_appended(settings):
    settings.PORTAL_TRUSTED_PROXIES = parse_trusted_proxies("1")
    assert ip("10.0.0.5", "203.0.113.7") == "203.0.113.7"
    # The client forged a first entry; the gateway appended the real one.
    assert ip("10.0.0.5", "6.6.6.6, 203.0.113.7:5678") == "203.0.113.7"
    assert ip("10.0.0.5", "6.6.6.6, [2001:db8::7]:443") == "2001:db8::7"


def test_two_trusted_proxies_count_from_the_right(settings):
    settings.PORTAL_TRUSTED_PROXIES = parse_trusted_proxies("2")
    assert ip("10.0.0.5", "6.6.6.6, 203.0.113.7, 10.0.0.9") == "203.0.113.7"
    # Fewer entries than proxies: the request did not come through them all, so the header proves nothing.
    assert ip("10.0.0.5", "203.0.113.7") == "10.0.0.5"


def test_trusted_networks_walk_left_until_an_untrusted_address(settings):
    settings.PORTAL_TRUSTED_PROXIES = parse_trusted_proxies("10.0.0.0/8, fd00::/8")
    assert ip("10.0.0.5", "6.6.6.6, 203.0.113.7, 10.1.2.3") == "203.0.113.7"
    assert ip("fd00::5", "203.0.113.8") == "203.0.113.8"
    # Not from a trusted proxy at all: its header is ignored.
    assert ip("198.51.100.1", "203.0.113.7") == "198.51.100.1"


@pytest.mark.parametrize("trusted", ["1", "10.0.0.0/8"])
@pytest.mark.parametrize("header", ["unknown", "", ",,,", "\x00", "1.2.3.4:99999:1", "[::1", "x" * 10_000])
def test_a_malformed_header_falls_back_to_the_proxy(settings, trusted, header):
    settings.PORTAL_TRUSTED_PROXIES = parse_trusted_proxies(trusted)
    assert ip("10.0.0.5", header) == "10.0.0.5"


def test_a_malformed_remote_addr_gives_no_address(settings):
    settings.PORTAL_TRUSTED_PROXIES = parse_trusted_proxies("1")
    assert ip("not-an-ip", "203.0.113.7") is None


def test_a_bad_setting_fails_at_start():
    with pytest.raises(ValueError):
        parse_trusted_proxies("10.0.0.0/33")


@pytest.mark.parametrize("header", ["1.2.3.4:5678", "unknown", "6.6.6.6", "[2001:db8::1]:443, garbage"])
def test_an_audited_write_never_fails_on_the_header_and_records_the_trusted_address(
        platform, client_for, engineer, settings, header):
    settings.PORTAL_TRUSTED_PROXIES = 0
    response = client_for(engineer).post(reverse("catalog:environment_sync", args=["dev"]),
                                         HTTP_X_FORWARDED_FOR=header, REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="environment.sync_requested")
    assert event.ip_address == "192.0.2.44"


def test_an_audited_write_behind_a_gateway_records_the_client(platform, client_for, engineer, settings):
    settings.PORTAL_TRUSTED_PROXIES = 1
    response = client_for(engineer).post(reverse("catalog:environment_sync", args=["dev"]),
                                         HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7:5678", REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="environment.sync_requested").ip_address == "203.0.113.7"
