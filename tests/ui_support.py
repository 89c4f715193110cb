"""Helpers for the mapping page's browser tests: a ``serve`` process, Debian's Chromium through Playwright, the
check of every request against the OpenAPI document, axe-core, screenshots and keyboard moves."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.serve_support import serve_process
from tests.support import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHARED = ROOT.parent / "shared"
MICROSOFT_2_RECORDS = SHARED / "fixtures" / "microsoft" / "csv2scim" / "csv-with-2-records.csv"
WORKERS = ROOT / "samples" / "workers.csv"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
OPENAPI = ROOT / "provisioning" / "doors" / "http" / "openapi.json"
SCREENSHOTS = ROOT / "out" / "screenshots"
PAGE_FILES = {"/", "/ui/app.js", "/ui/app.css"}
"""What the page may load that is not the API: itself and its two files, from its own origin."""


# ---- the server ---------------------------------------------------------------------------------------


@dataclass
class Server:
    """``python -m provisioning serve --port 0`` on its own folders and the embedded Graph emulator."""

    base: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """A call made by the test itself (set-up), not by the page."""
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/api{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def wait_for_run(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record: dict[str, Any] = self.api("GET", f"/runs/{run_id}")
            if record["status"] in ("completed", "failed", "held", "dry-run") or time.monotonic() > deadline:
                return record
            time.sleep(0.2)


@contextmanager
def serving(folder: Path, **settings: str) -> Iterator[Server]:
    """A server (``tests.serve_support``) that may reach the HR emulators on loopback."""
    with serve_process(folder, CONNECTORS_ALLOW_LOOPBACK_HTTP="true", **settings) as (base, process, output):
        yield Server(base, process, output)


# ---- what the page asks for -----------------------------------------------------------------------------


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def openapi_operations() -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, template) of every operation in openapi.json, paths under its server URL."""
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    prefix = (spec.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    return [
        (method.upper(), _template(prefix + path), prefix + path)
        for path, item in spec["paths"].items()
        for method in item
        if method.lower() in ("get", "put", "post", "delete", "patch")
    ]


@dataclass
class RequestLog:
    """Every request the page made (``page.on("request")``), checked against the server and the spec."""

    base: str
    seen: list[tuple[str, str]] = field(default_factory=list)

    def record(self, request: Any) -> None:
        self.seen.append((request.method, request.url))

    def api_calls(self) -> list[tuple[str, str]]:
        return [(m, urlsplit(u).path) for m, u in self.seen if urlsplit(u).path.startswith("/api/")]

    def problems(self) -> list[str]:
        """Requests to anywhere but the server, page files it does not serve, and API calls the spec lacks."""
        operations = openapi_operations()
        found = []
        origin = urlsplit(self.base)
        for method, url in self.seen:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                found.append(f"{method} {url}: not the page's own server")
            elif parts.path.startswith("/api/"):
                if not any(m == method and pattern.match(parts.path) for m, pattern, _ in operations):
                    found.append(f"{method} {parts.path}: no such operation in openapi.json")
            elif parts.path not in PAGE_FILES:
                found.append(f"{method} {parts.path}: not one of the page's files")
        return found

    def templates(self) -> set[str]:
        """The spec operations the page used, as ``METHOD /api/template``."""
        used = set()
        for method, path in self.api_calls():
            for m, pattern, template in openapi_operations():
                if m == method and pattern.match(path):
                    used.add(f"{method} {template}")
        return used


# ---- page helpers ----------------------------------------------------------------------------------------


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's WCAG 2 A/AA rules (and best practices) on the page as it is; only ``impacts`` are reported.

    axe is evaluated over the DevTools protocol, which the page's Content-Security-Policy does not govern (an
    injected script tag would be refused, as it should be)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    results = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            const why = (n) => (n.failureSummary || '').split('\\n').slice(0, 3).join(' ');
            const where = (n) => n.target.join(' ') + ': ' + why(n);
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 5).map(where)}));
        }""",
        AXE_TAGS,
    )
    found = []
    for v in results:
        if v["impact"] in impacts:
            found.append(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]))
    return found


def focus_is_visible(page: Any) -> bool:
    """The focused element draws a focus indicator (an outline at least 2 px wide, or a box shadow)."""
    return bool(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return false;
                const s = getComputedStyle(el);
                return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
            }"""
        )
    )


def active(page: Any) -> str:
    """A short description of the focused element: its id, else tag and text."""
    return str(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el) return '';
                const text = (el.textContent || '').trim().slice(0, 40);
                return el.id ? '#' + el.id : el.tagName.toLowerCase() + ':' + text;
            }"""
        )
    )


def tab_to(page: Any, matches: Callable[[Any], bool] | str, *, limit: int = 400, check_focus: bool = True) -> None:
    """Presses Tab until the focused element is ``matches`` (a CSS selector, or a test on the page); each stop
    on the way must show where the focus is."""
    test: Callable[[Any], bool]
    if isinstance(matches, str):
        selector = matches

        def test(p: Any) -> bool:
            return bool(p.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector))
    else:
        test = matches
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            continue  # past the last control the focus leaves the page (the browser's own UI), then comes back
        if check_focus and not focus_is_visible(page):
            raise AssertionError(f"no visible focus on {active(page)}")
        if test(page):
            return
    raise AssertionError(f"Tab never reached {matches} (stopped on {active(page)})")


def wait_text(page: Any, selector: str, pattern: str, timeout: float = 15_000) -> None:
    """Waits until the text of ``selector`` matches the regular expression ``pattern``."""
    page.wait_for_function(
        "([s, p]) => { const el = document.querySelector(s); return el && new RegExp(p).test(el.textContent); }",
        arg=[selector, pattern],
        timeout=timeout,
    )
