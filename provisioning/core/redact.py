"""Credentials in URLs (``https://user:password@host``) never shown: in a message, a record or a log line."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?<=://)[^/\s@]*@")


def redact_url(text: str) -> str:
    """``text`` with the user name and password of every URL in it replaced by ``***``."""
    return _USERINFO.sub("***@", text) if "@" in text and "://" in text else text
