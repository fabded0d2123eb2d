"""Webhook mode: Telegram posts updates to the bot's own HTTP server (PTB's, on tornado), which
accepts them only with the secret token the bot gave Telegram."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

from tests.fakes.telegram import TOKEN, FakeUser
from tests.telegram_harness import bot_settings, running_bot

ADA = FakeUser(111, "Ada", "ada", "en")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(url: str, update: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, json.dumps(update).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


async def test_webhook_mode_answers_updates_that_carry_the_secret_and_refuses_the_others(fake, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = bot_settings(fake, tmp_path, webhook_url=url, webhook_listen="127.0.0.1", webhook_port=port)
    async with running_bot(settings, fake):
        assert fake.webhook["url"] == url and fake.calls["getUpdates"] == 0  # no long polling
        secret = fake.webhook["secret_token"]
        assert len(secret) >= 32 and secret not in TOKEN

        fake.user_sends("/help", ADA)
        forged = fake.updates.pop()  # nobody polls: the update goes by webhook instead
        assert await asyncio.to_thread(post, url, forged, None) == 403
        assert await asyncio.to_thread(post, url, forged, "guess") == 403

        fake.user_sends("/start", ADA)
        real = fake.updates.pop()
        assert await asyncio.to_thread(post, url, real, secret) == 200
        [reply] = await fake.wait_for(ADA.id, 1)
    assert "Subscribed" in reply.text
    assert len(fake.messages_to(ADA.id)) == 1  # the refused /help was never handled


async def test_a_set_webhook_secret_is_the_one_telegram_gets(fake, tmp_path):
    port = free_port()
    settings = bot_settings(
        fake, tmp_path, webhook_url=f"http://127.0.0.1:{port}/t", webhook_listen="127.0.0.1", webhook_port=port,
        webhook_secret="my-own_secret-42",
    )  # fmt: skip
    async with running_bot(settings, fake):
        assert fake.webhook["secret_token"] == "my-own_secret-42"
