"""Loaded by every server process the tests start (tests/servers.py puts this
folder on PYTHONPATH): the tests use no network beyond 127.0.0.1, so a name
other than localhost does not resolve, at once, as on a machine with no DNS,
instead of waiting on whatever resolver the machine has."""

import ipaddress
import socket

_getaddrinfo = socket.getaddrinfo


def _local_only(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name != "localhost":
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            raise socket.gaierror(
                socket.EAI_NONAME, "Name or service not known (tests resolve no names)"
            ) from None
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _local_only
