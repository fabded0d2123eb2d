"""The suite must fail loudly if anything tries to leave the machine."""

import socket
import urllib.request

import pytest

from tests import netguard


def test_connect_to_public_address_is_refused_and_recorded():
    before = len(netguard.ATTEMPTS)
    with socket.socket() as sock, pytest.raises(netguard.NonLoopbackConnection):
        sock.connect(("93.184.216.34", 443))
    assert netguard.ATTEMPTS[before:] == ["connect to ('93.184.216.34', 443)"]
    del netguard.ATTEMPTS[before:]  # this test made the attempt on purpose


def test_dns_lookup_of_public_host_is_refused():
    before = len(netguard.ATTEMPTS)
    with pytest.raises(netguard.NonLoopbackConnection):
        socket.getaddrinfo("api.telegram.org", 443)
    del netguard.ATTEMPTS[before:]


def test_proxy_tripwire_records_requests_from_clients_that_honour_proxy_variables():
    before = len(netguard.ATTEMPTS)
    with pytest.raises(OSError):  # urllib's URLError or HTTPError (a 403 from the tripwire)
        urllib.request.urlopen("http://query2.finance.yahoo.com/v8/finance/chart/NVDA", timeout=5)
    assert any("query2.finance.yahoo.com" in a for a in netguard.ATTEMPTS[before:])
    del netguard.ATTEMPTS[before:]


def test_loopback_is_allowed():
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname(), timeout=2):
        pass
