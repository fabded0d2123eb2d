"""ccxt's exceptions mapped to the project's two, in one place.

Wrap every ccxt call::

    with ccxt_errors("binance"):
        tickers = await exchange.fetch_tickers(pairs)

* ``BadSymbol`` becomes :class:`UnknownSymbol` (retrying will not help).
* Everything else ccxt raises (``NetworkError`` and its children ``DDoSProtection``,
  ``RateLimitExceeded``, ``RequestTimeout``, ``ExchangeNotAvailable``; any other
  ``ExchangeError``) becomes :class:`SourceUnavailable`, and so do ``AttributeError``,
  ``TypeError``, ``LookupError``, ``ValueError`` and ``ArithmeticError``: that is how
  ccxt chokes on a truncated JSON body or a ``"NaN"`` that came with status 200.

:func:`reject_broken_json` makes such a body an error at once, before ccxt parses it.

Messages are one short line for ``/status`` and the log, e.g. ``"binance: rate limited (429)"``
or ``"okx: timeout"``: never a URL, a response body or a traceback. The original
exception stays reachable as ``__cause__``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ccxt

from bot.sources.base import SourceError, SourceUnavailable, UnknownSymbol

# Both message shapes ccxt uses: "<id> <code> <reason> <body>" (exchange-specific
# handlers such as Binance's) and "<id> <METHOD> <url> <code> <reason> <body>" (the default).
_STATUS = re.compile(r"^\S+ (?:[A-Z]+ \S+ )?([1-5]\d\d)\b")

# Most specific first: the first matching class decides the wording.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (ccxt.BadSymbol, "unknown symbol"),
    (ccxt.RateLimitExceeded, "rate limited"),
    (ccxt.DDoSProtection, "rate limited"),
    (ccxt.RequestTimeout, "timeout"),
    (ccxt.OnMaintenance, "down for maintenance"),
    (ccxt.ExchangeNotAvailable, "not available"),
    (ccxt.NetworkError, "network error"),
    (ccxt.AuthenticationError, "authentication refused"),
    (ccxt.BadResponse, "malformed response"),
    (ccxt.NotSupported, "not supported"),
    (ccxt.BaseError, "exchange error"),
    (AttributeError, "malformed response"),
    (TypeError, "malformed response"),
    (LookupError, "malformed response"),
    (ValueError, "malformed response"),
    (ArithmeticError, "malformed response"),
)
MAPPED: tuple[type[Exception], ...] = (
    ccxt.BaseError,
    AttributeError,
    TypeError,
    LookupError,
    ValueError,
    ArithmeticError,
)
"""What :func:`ccxt_errors` catches; anything else (and ``CancelledError``) passes through."""


def http_status(exc: BaseException) -> int | None:
    """The HTTP status code ccxt put at the start of its message, if any."""
    match = _STATUS.match(str(exc))
    return int(match.group(1)) if match else None


def reason(exchange_id: str, exc: BaseException) -> str:
    """One short line saying what went wrong, e.g. ``"binance: rate limited (429)"``."""
    text = next((label for cls, label in _REASONS if isinstance(exc, cls)), "unexpected error")
    status = http_status(exc) if isinstance(exc, ccxt.BaseError) else None
    if status == 418:
        text = "IP banned for rate limits"
    elif status is None and type(exc) is ccxt.ExchangeNotAvailable:  # ccxt's "connection failed"
        text = "unreachable"
    return f"{exchange_id}: {text}" + (f" ({status})" if status and status >= 400 else "")


def map_error(exchange_id: str, exc: BaseException) -> SourceError:
    """The project exception for ``exc`` (not raised: see :func:`ccxt_errors`)."""
    if isinstance(exc, ccxt.BadSymbol):
        return UnknownSymbol(reason(exchange_id, exc))
    return SourceUnavailable(reason(exchange_id, exc))


def is_rate_limit(error: BaseException) -> bool:
    """True if the exchange told us to slow down (HTTP 429/418): do not retry it at once."""
    cause = error.__cause__ if isinstance(error, SourceError) else error
    return isinstance(cause, (ccxt.DDoSProtection, ccxt.RateLimitExceeded))


@contextmanager
def ccxt_errors(exchange_id: str) -> Iterator[None]:
    """Re-raise what a ccxt call raises as :class:`SourceUnavailable` or :class:`UnknownSymbol`."""
    try:
        yield
    except MAPPED as exc:
        raise map_error(exchange_id, exc) from exc


def reject_broken_json(exchange: Any) -> None:
    """Make a 2xx answer whose body is not JSON raise ``ccxt.BadResponse``.

    Left alone, ccxt reads a truncated body as no data: ``fetch_ohlcv`` returns ``[]``,
    which looks exactly like "no more candles". ``on_rest_response`` is ccxt's hook for
    the raw answer; this wraps the exchange object's own.
    """
    original = exchange.on_rest_response

    def checked(code: Any, reason: str, url: str, method: str, headers: Any, body: Any, *request: Any) -> Any:
        body = original(code, reason, url, method, headers, body, *request)
        if 200 <= int(code) < 300 and body and exchange.parse_json(body) is None:
            raise ccxt.BadResponse(f"{exchange.id} {code} {reason}: the body is not valid JSON")
        return body

    exchange.on_rest_response = checked
