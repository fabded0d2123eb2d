"""Tests never leave this machine: any connection to a non-loopback address fails the test.

Two tripwires:

* Python sockets: ``socket.socket.connect``/``connect_ex``/``getaddrinfo`` refuse any
  non-loopback address (raising ``NonLoopbackConnection``, an ``OSError``).
* Native clients that bypass Python sockets (libcurl in curl_cffi): the proxy
  environment variables point at a local tripwire server, so a request for any
  host outside ``NO_PROXY`` (loopback only) lands there and is recorded.

Libraries often swallow network errors (yfinance logs and returns an empty frame),
so every attempt is also recorded, and an autouse fixture fails the test that made it.
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import threading

ATTEMPTS: list[str] = []

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class NonLoopbackConnection(ConnectionRefusedError):
    """A test tried to reach the outside world."""


def _is_loopback_host(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback_host(host):
        ATTEMPTS.append(f"connect to {address!r}")
        raise NonLoopbackConnection(f"test tried to reach non-loopback address {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_loopback_host(host):
        ATTEMPTS.append(f"DNS lookup of {host!r}")
        raise NonLoopbackConnection(f"test tried to resolve non-loopback host {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


class _Tripwire(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _TripwireHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").strip()
        ATTEMPTS.append(f"proxied request {line!r}")
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def guard_sockets() -> None:
    """Refuse Python-level connections and DNS lookups outside loopback."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


def set_proxy(environ: dict[str, str], proxy: str) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        environ[name] = proxy
    for name in ("NO_PROXY", "no_proxy"):
        environ[name] = "127.0.0.1,localhost,::1"


def install(environ: dict[str, str]) -> None:
    """Patch sockets and point the proxy variables at a tripwire server."""
    guard_sockets()
    server = _Tripwire(("127.0.0.1", 0), _TripwireHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="net-tripwire").start()
    set_proxy(environ, f"http://127.0.0.1:{server.server_address[1]}")


# A machine with no internet, for a bot started as a subprocess by a test: put
# tests/offline on PYTHONPATH and its sitecustomize calls this at interpreter start.
DEAD_PROXY = "http://127.0.0.1:9"


def install_offline(environ: dict[str, str]) -> None:
    """Python sockets refuse the outside; native clients go to a closed loopback port."""
    guard_sockets()
    set_proxy(environ, DEAD_PROXY)
