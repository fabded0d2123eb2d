"""A fake Yahoo streamer on 127.0.0.1: ``{"subscribe": [...]}`` in, base64 protobuf prices out.

Prices are encoded with the definitions yfinance ships (``yfinance.pricing_pb2.PricingData``),
the ones the bot decodes with::

    async with FakeYahooStream() as yahoo:
        stream = YahooStream(..., url=yahoo.url)
        await yahoo.subscribed("ORCL")
        await yahoo.price("ORCL", 197.5, ts_ms, hours=POST_MARKET)   # to every subscriber of ORCL
        await yahoo.drop()                                            # every connection closed
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import Counter

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from yfinance.pricing_pb2 import PricingData

PRE_MARKET, REGULAR_MARKET, POST_MARKET = 0, 1, 2  # PricingData.market_hours


def pricing_message(symbol: str, price: float, ts_ms: int, hours: int, change_pct: float = 0.0) -> str:
    data = PricingData(
        id=symbol, price=price, time=ts_ms, currency="USD", exchange="NMS", quote_type=8,
        market_hours=hours, change_percent=change_pct, day_volume=1_000_000, last_size=100, price_hint=2,
    )  # fmt: skip
    return json.dumps({"type": "pricing", "message": base64.b64encode(data.SerializeToString()).decode()})


class FakeYahooStream:
    def __init__(self) -> None:
        self.url = ""
        self.subscriptions: Counter[str] = Counter()
        """Names subscribed to, counted over every subscribe message (Yahoo's are repeated)."""
        self.connections = 0
        self._clients: dict[ServerConnection, set[str]] = {}
        self._server: Server | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> str:
        self._server = await serve(self._serve, "127.0.0.1", 0)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/?version=2"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeYahooStream:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def subscribed(self, symbol: str, times: int = 1, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.subscriptions[symbol] >= times), timeout)

    async def price(
        self, symbol: str, price: float, ts_ms: int | None = None, hours: int = REGULAR_MARKET, change_pct: float = 0.0
    ) -> int:
        """One price of ``symbol`` to every connection subscribed to it; how many got it."""
        ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
        message = pricing_message(symbol, price, ts_ms, hours, change_pct)
        sent = 0
        for ws, names in list(self._clients.items()):
            if symbol in names:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(message)
                    sent += 1
        return sent

    async def send_raw(self, text: str) -> None:
        for ws in list(self._clients):
            with contextlib.suppress(ConnectionClosed):
                await ws.send(text)

    async def drop(self) -> None:
        for ws in list(self._clients):
            await ws.close()

    async def _serve(self, ws: ServerConnection) -> None:
        self.connections += 1
        self._clients[ws] = set()
        try:
            async for message in ws:
                names = json.loads(message).get("subscribe", [])
                async with self._changed:
                    self._clients[ws].update(names)
                    self.subscriptions.update(names)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self._clients.pop(ws, None)
