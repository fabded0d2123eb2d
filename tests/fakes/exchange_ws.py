"""A fake Binance and OKX market stream (websockets) on 127.0.0.1, for ccxt.pro's real stream code.

ccxt connects to ``<ws_url>/ws/<n>``, sends ``{"method": "SUBSCRIBE", "params":
["btcusdt@ticker"], "id": 1}`` and reads the stream's events; this fake answers the
subscription and sends what the test pushes::

    async with FakeExchangeStream() as stream:
        source_options = {"binance": {"api_url": fake.url, "ws_url": stream.url}}
        await stream.subscribed("btcusdt@ticker")
        await stream.ticker("BTCUSDT", 89_950.0)        # one 24hrTicker event to its subscribers
        await stream.kline("BTCUSDT", start_ms, 90_000, 90_100, 89_400, 90_050)  # a 1-minute candle
        stream.pump("BTCUSDT", 90_100.0, every=0.05)     # or one every 50 ms until stopped
        stream.mute()                                    # connected, but nothing more is sent
        await stream.drop()                              # every connection closed by the server
        await stream.go_offline()                        # connections refused until come_back()

Events are Binance's documented shapes (``24hrTicker``, ``kline``); the markets themselves
come from the REST fake (:class:`tests.fakes.exchange.FakeExchange`).

OKX on the same server (``{"okx": {"ws_url": stream.url}}``: ccxt connects to ``/ws/v5/public``
for tickers and ``/ws/v5/business`` for candles, subscribes with ``{"op": "subscribe", "args":
[{"channel": "tickers", "instId": "BTC-USDT"}]}`` and pings with the text ``ping``)::

    await stream.subscribed("okx:tickers:BTC-USDT")
    await stream.okx_ticker("BTC-USDT", 90_300.0)
    await stream.okx_candle("BTC-USDT", start_ms, 90_000, 90_100, 89_900, 90_050)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web


def ticker_event(market_id: str, price: float, ts_ms: int, open_: float | None = None) -> dict[str, Any]:
    open_ = price if open_ is None else open_
    return {
        "e": "24hrTicker", "E": ts_ms, "s": market_id,
        "p": f"{price - open_:.2f}", "P": f"{(price / open_ - 1) * 100:.3f}", "w": str(open_),
        "x": str(open_), "c": str(price), "Q": "0.01", "b": str(price), "B": "1", "a": str(price),
        "A": "1", "o": str(open_), "h": str(max(price, open_)), "l": str(min(price, open_)),
        "v": "100", "q": "9000000", "O": ts_ms - 86_400_000, "C": ts_ms, "F": 1, "L": 2, "n": 2,
    }  # fmt: skip


class FakeExchangeStream:
    """Binance's public market stream: subscriptions, ticker events, faults."""

    def __init__(self) -> None:
        self.url = ""
        self.subscriptions: Counter[str] = Counter()
        """Streams subscribed to, counted over every connection (a reconnect subscribes again)."""
        self.connections = 0
        self._clients: dict[web.WebSocketResponse, set[str]] = {}
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._port = 0

    # -- control -------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_get("/ws/{n}", self._serve)
        app.router.add_get("/ws", self._serve)
        app.router.add_get("/ws/v5/{access}", self._serve_okx)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{self._port}"
        return self.url

    async def stop(self) -> None:
        self.mute()
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeExchangeStream:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def subscribed(self, stream: str, times: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``stream`` has been subscribed to ``times`` times in all."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.subscriptions[stream] >= times), timeout)

    async def send(self, stream: str, event: dict[str, Any]) -> int:
        """``event`` to every connection subscribed to ``stream``; how many got it."""
        sent = 0
        for ws, streams in list(self._clients.items()):
            if stream in streams and not ws.closed:
                with contextlib.suppress(ConnectionError):
                    await ws.send_str(json.dumps(event))
                    sent += 1
        return sent

    async def ticker(self, market_id: str, price: float, ts_ms: int | None = None, open_: float | None = None) -> int:
        """One ``24hrTicker`` event for ``market_id`` (``BTCUSDT``), stamped ``ts_ms`` (now by default)."""
        ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
        return await self.send(f"{market_id.lower()}@ticker", ticker_event(market_id, price, ts_ms, open_))

    async def kline(
        self, market_id: str, start_ms: int, open_: float, high: float, low: float, close: float, closed: bool = False
    ) -> int:
        """One ``kline`` event of the 1-minute candle starting at ``start_ms`` (as it stands so far)."""
        event = {
            "e": "kline", "E": start_ms + 1_000, "s": market_id,
            "k": {
                "t": start_ms, "T": start_ms + 59_999, "s": market_id, "i": "1m", "f": 1, "L": 2,
                "o": str(open_), "c": str(close), "h": str(high), "l": str(low), "v": "12.5", "n": 40,
                "x": closed, "q": "1000000", "V": "6", "Q": "500000", "B": "0",
            },
        }  # fmt: skip
        return await self.send(f"{market_id.lower()}@kline_1m", event)

    async def okx_ticker(self, inst_id: str, price: float, ts_ms: int | None = None, open_: float | None = None) -> int:
        """One OKX ``tickers`` push for ``inst_id`` (``BTC-USDT``), stamped ``ts_ms`` (now by default)."""
        ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
        open_ = price if open_ is None else open_
        data = {
            "instType": "SPOT", "instId": inst_id, "last": str(price), "lastSz": "0.01",
            "askPx": str(price), "askSz": "1", "bidPx": str(price), "bidSz": "1", "open24h": str(open_),
            "high24h": str(max(price, open_)), "low24h": str(min(price, open_)), "sodUtc0": str(open_),
            "sodUtc8": str(open_), "volCcy24h": "9000000", "vol24h": "100", "ts": str(ts_ms),
        }  # fmt: skip
        return await self.send(
            f"okx:tickers:{inst_id}", {"arg": {"channel": "tickers", "instId": inst_id}, "data": [data]}
        )

    async def okx_candle(
        self, inst_id: str, start_ms: int, open_: float, high: float, low: float, close: float, closed: bool = False
    ) -> int:
        """One OKX ``candle1m`` push: the minute starting at ``start_ms`` as it stands so far."""
        row = [
            str(start_ms),
            str(open_),
            str(high),
            str(low),
            str(close),
            "12.5",
            "1000000",
            "1000000",
            "1" if closed else "0",
        ]
        return await self.send(
            f"okx:candle1m:{inst_id}", {"arg": {"channel": "candle1m", "instId": inst_id}, "data": [row]}
        )

    def pump(self, market_id: str, price: float, every: float = 0.05) -> None:
        """A ticker event for ``market_id`` at ``price`` every ``every`` seconds, until :meth:`mute`."""
        self.mute()

        async def run() -> None:
            while True:
                await self.ticker(market_id, price)
                await asyncio.sleep(every)

        self._pump = asyncio.get_running_loop().create_task(run())

    def mute(self) -> None:
        """Send nothing more (connections stay open: a silent stream)."""
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    async def drop(self) -> None:
        """Close every connection from the server's side, as an exchange's restart does."""
        for ws in list(self._clients):
            await ws.close()

    async def go_offline(self) -> None:
        """Drop every connection and refuse new ones until :meth:`come_back`."""
        self.mute()
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def come_back(self) -> None:
        if self._runner is None:
            await self.start(self._port)

    # -- the server ----------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        """Binance: ``{"method": "SUBSCRIBE", "params": [...], "id": n}``, answered with its id."""

        async def subscribe(ws: web.WebSocketResponse, text: str) -> list[str]:
            data = json.loads(text)
            if data.get("method") != "SUBSCRIBE":
                return []
            await ws.send_str(json.dumps({"result": None, "id": data.get("id")}))
            return list(data.get("params", ()))

        return await self._connection(request, subscribe)

    async def _serve_okx(self, request: web.Request) -> web.WebSocketResponse:
        """OKX: ``{"op": "subscribe", "args": [...]}``, one event per argument; a text ``ping``."""

        async def subscribe(ws: web.WebSocketResponse, text: str) -> list[str]:
            if text == "ping":
                await ws.send_str("pong")
                return []
            data = json.loads(text)
            if data.get("op") != "subscribe":
                return []
            for arg in data.get("args", ()):
                await ws.send_str(json.dumps({"event": "subscribe", "arg": arg, "connId": "fake"}))
            return [f"okx:{arg['channel']}:{arg['instId']}" for arg in data.get("args", ())]

        return await self._connection(request, subscribe)

    async def _connection(
        self,
        request: web.Request,
        subscribe: Callable[[web.WebSocketResponse, str], Awaitable[list[str]]],
    ) -> web.WebSocketResponse:
        """One client's connection: each text message read by ``subscribe`` (the venue's
        protocol), whose answer is the streams the client subscribed to with it."""
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connections += 1
        self._clients[ws] = set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT or not (streams := await subscribe(ws, message.data)):
                    continue
                async with self._changed:
                    self._clients[ws].update(streams)
                    self.subscriptions.update(streams)
                    self._changed.notify_all()
        finally:
            self._clients.pop(ws, None)
        return ws
