"""The client's IP address, through trusted proxies only.

`X-Forwarded-For` is believed only as far as the proxies the portal is told to trust
(settings.PORTAL_TRUSTED_PROXIES): none by default, so the address is the socket's (`REMOTE_ADDR`).

- A count N: N proxies stand in front of the portal, each appending the address it saw, so the client
  is the Nth entry from the right. A header with fewer entries did not come through them all: it is
  ignored.
- Networks (CIDR): walk from `REMOTE_ADDR` leftwards through the header while the address is a trusted
  proxy's; the first one that is not is the client.

Entries may be `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:443`. Anything
else (`unknown`, garbage) is never believed and never raises: the answer falls back to the nearest address
the portal can vouch for.
"""

import ipaddress

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(value) -> IPAddress | None:
    """An IP address out of one header entry, or None when it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("["):  # [v6] or [v6]:port
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # a v6 zone id says nothing about the client
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_trusted_proxies(value: str) -> int | tuple:
    """PORTAL_TRUSTED_PROXIES: '' (none), a count ('1'), or comma-separated networks ('10.0.0.0/8, ::1')."""
    text = (value or "").strip()
    if not text:
        return 0
    if text.isdigit():
        return int(text)
    networks = []
    for item in text.split(","):
        if item.strip():
            networks.append(ipaddress.ip_network(item.strip(), strict=False))  # a typo fails at start, loudly
    return tuple(networks)


def client_ip(request) -> str | None:
    """The client's address as a string (for the audit log and login throttling), or None."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    trusted = getattr(settings, "PORTAL_TRUSTED_PROXIES", 0)
    if not trusted or remote is None:
        return str(remote) if remote is not None else None
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    entries = [entry for entry in header.split(",")] if isinstance(header, str) and header.strip() else []
    if isinstance(trusted, int):
        if len(entries) < trusted:
            return str(remote)
        address = parse_address(entries[-trusted])
        return str(address if address is not None else remote)
    address = remote
    for entry in reversed(entries):
        if not any(address in network for network in trusted if network.version == address.version):
            break
        hop = parse_address(entry)
        if hop is None:
            break  # a trusted proxy passed on garbage: the proxy itself is as far as we can vouch
        address = hop
    return str(address)
