"""userName as Entra will use it: a userPrincipalName, with the tenant's domain when the source has none.

Entra maps ``userName`` to ``userPrincipalName`` (the default attribute mapping of API-driven provisioning), and
refuses a create whose UPN breaks its username policy ("Password policies and account restrictions in Microsoft
Entra ID", UserPrincipalName policies): only ``A-Z a-z 0-9 ' . - _ ! # ^ ~`` before the ``@``, no period right
before it, at most 64 characters before it, 48 after it and 113 in all. The provisioning logs then report
``AzureActiveDirectoryInvalidUserPrincipalName`` ("Troubleshoot inbound provisioning API issues"). Checking here
turns that into a rejected record that names the value and the rule, before anything is sent.

Whether the domain is one of the tenant's verified domains only Entra knows: that stays its answer.
"""

from __future__ import annotations

import re

from provisioning.core.errors import RowError

MAX_LOCAL = 64
MAX_DOMAIN = 48
MAX_TOTAL = 113
_LOCAL = re.compile(r"[A-Za-z0-9'.\-_!#^~]+")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9'.\-_!#^~]")
_VALID_LOCAL = re.compile(r"[A-Za-z0-9'.\-_!#^~]{0,63}[A-Za-z0-9'\-_!#^~]")
"""A name before the @ that passes every rule below at once (the common case, checked in one match)."""
_known_hosts: set[str] = set()
"""Domains already found valid: a run has one or a few, and its every row would check them again."""
_KNOWN_HOSTS_MAX = 1024


def normal_domain(value: str | None) -> str | None:
    """A domain as a profile's ``upnDomain`` or ``HR_UPN_DOMAIN`` gives it (``@`` and case dropped), or None;
    ValueError for anything that is not a domain name."""
    text = (value or "").strip().lstrip("@").lower()
    if text and (len(text) > MAX_DOMAIN or not _DOMAIN.fullmatch(text)):
        raise ValueError(f"{text!r} is not a domain name, e.g. contoso.com")
    return text or None


def user_principal_name(value: str, domain: str | None) -> str:
    """``value`` as a UPN: ``@domain`` appended when it has no ``@``; ``RowError`` (field userName) when Entra
    would refuse it."""
    text = value.strip()
    if "@" not in text:
        if not domain:
            raise _refused(text, "has no @domain: set HR_UPN_DOMAIN, or upnDomain in the mapping profile")
        text = f"{text}@{domain}"
    local, _, host = text.rpartition("@")
    if host in _known_hosts and len(text) <= MAX_TOTAL and _VALID_LOCAL.fullmatch(local):
        return text
    if not local or "@" in local:
        raise _refused(text, "needs exactly one @ with a name before it")
    bad = sorted(set(_NOT_ALLOWED.findall(local)))
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        allowed = "A-Z a-z 0-9 ' . - _ ! # ^ ~"
        raise _refused(text, f"holds characters a UPN cannot have before the @ ({shown}); allowed: {allowed}")
    if local.endswith("."):
        raise _refused(text, "has a period right before the @")
    if len(local) > MAX_LOCAL:
        raise _refused(text, f"has {len(local)} characters before the @ (at most {MAX_LOCAL})")
    if len(host) > MAX_DOMAIN or not _DOMAIN.fullmatch(host):
        raise _refused(
            text, f"has no valid domain after the @ (a name such as contoso.com, at most {MAX_DOMAIN} characters)"
        )
    if len(text) > MAX_TOTAL:
        raise _refused(text, f"is {len(text)} characters long (at most {MAX_TOTAL})")
    if len(_known_hosts) < _KNOWN_HOSTS_MAX:
        _known_hosts.add(host)
    return text


def _refused(value: str, why: str) -> RowError:
    shown = value if len(value) <= 130 else value[:127] + "..."
    return RowError(f"{shown!r} {why}", field="userName")
