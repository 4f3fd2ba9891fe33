"""Sanity checks of contact addresses: email, Slack, Telegram, Discord and Mattermost ids (shared by the config
file and settings)."""

from __future__ import annotations

import re

_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = re.compile(rf"[^@\s<>()\[\],;:\"]+@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+")
EMAIL_EXPECTED = "expected an email address such as ops@example.com"
SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}")
SLACK_CHANNEL_EXPECTED = "expected a Slack channel id such as C0123ABCD (ids, unlike names, never change)"
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
SLACK_USER_EXPECTED = "expected a Slack user id such as U0123ABCD"
TELEGRAM_CHAT = re.compile(r"-?[1-9][0-9]{0,19}(?::[1-9][0-9]{0,9})?")
TELEGRAM_CHAT_EXPECTED = 'expected a Telegram chat id such as "-1001234567890", or "chat_id:topic_id" for a forum topic'


DISCORD_ID = re.compile(r"[1-9][0-9]{15,20}")
DISCORD_USER_EXPECTED = "expected a Discord user id (a number of 16 to 21 digits) such as 80351110224678912"
DISCORD_CHANNEL_EXPECTED = "expected a Discord channel id (a number of 16 to 21 digits) such as 1234567890123456789"
MATTERMOST_ID = re.compile(r"[a-z0-9]{26}")
MATTERMOST_USER = re.compile(r"[a-z0-9]{26}|@?[a-z][a-z0-9._-]{2,63}")
MATTERMOST_USER_EXPECTED = "expected a Mattermost user id (26 lowercase letters and digits) or a username"
MATTERMOST_CHANNEL_EXPECTED = "expected a Mattermost channel id (26 lowercase letters and digits)"


def check_email(text: str) -> str:
    """The address unchanged, or ValueError."""
    if not EMAIL.fullmatch(text):
        raise ValueError(f"{text!r} is not an email address; {EMAIL_EXPECTED}")
    return text


def check_slack_channel(text: str) -> str:
    """The channel id unchanged, or ValueError."""
    if not SLACK_CHANNEL.fullmatch(text):
        raise ValueError(f"{text!r} is not a Slack channel id; {SLACK_CHANNEL_EXPECTED}")
    return text


def check_telegram_chat(text: str) -> str:
    """The chat (`-1001` or `-1001:42`) unchanged, or ValueError."""
    if not TELEGRAM_CHAT.fullmatch(text):
        raise ValueError(f"{text!r} is not a Telegram chat; {TELEGRAM_CHAT_EXPECTED}")
    return text


def check_discord_channel(text: str) -> str:
    """The channel id unchanged, or ValueError."""
    if not DISCORD_ID.fullmatch(text):
        raise ValueError(f"{text!r} is not a Discord channel id; {DISCORD_CHANNEL_EXPECTED}")
    return text


def check_mattermost_channel(text: str) -> str:
    """The channel id unchanged, or ValueError."""
    if not MATTERMOST_ID.fullmatch(text):
        raise ValueError(f"{text!r} is not a Mattermost channel id; {MATTERMOST_CHANNEL_EXPECTED}")
    return text


def split_telegram_chat(chat: str) -> tuple[int, int | None]:
    """A checked chat as (chat id, forum topic id or None)."""
    chat_id, _, topic = check_telegram_chat(chat).partition(":")
    return int(chat_id), int(topic) if topic else None


PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
PHONE_EXPECTED = "expected a phone number in E.164 form: + then the country code and number, such as +4915112345678"
NTFY_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,64}")
NTFY_TOPIC_EXPECTED = "expected an ntfy topic: 1 to 64 letters, digits, '_' or '-' (hard to guess on a public server)"
PUSHOVER_KEY = re.compile(r"[A-Za-z0-9]{30}")
PUSHOVER_USER_EXPECTED = "expected a Pushover user (or group) key: 30 letters and digits, from the Pushover app"


def check_phone(text: str) -> str:
    """The E.164 number unchanged, or ValueError."""
    if not PHONE.fullmatch(text):
        raise ValueError(f"{text!r} is not a phone number; {PHONE_EXPECTED}")
    return text
