"""``python -m provisioning serve`` in a subprocess on a free loopback port, for the page's and the API's tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import ROOT

_LISTENING = re.compile(r"http://127\.0\.0\.1:(\d+)/")
_NOT_INHERITED = ("HR_STORAGE", "HR_STORAGE__blobServiceUri", "HR_STORAGE__queueServiceUri", "ENTRA_BULK_UPLOAD_URL")


@contextmanager
def serve_process(folder: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    """(base URL, process, its output so far) of a server on its own folders (and the embedded Graph emulator
    unless told otherwise). Its output is drained all along (a full pipe would stall it) and kept for failures."""
    env = {
        **os.environ,
        "RUNS_DIR": str(folder / "runs"),
        "STATE_DIR": str(folder / "state"),
        "CONFIG_DIR": str(folder / "config"),
        **settings,
    }
    for name in _NOT_INHERITED:
        if name not in settings:
            env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioning", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    found = threading.Event()
    port: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = _LISTENING.search(line)
            if match and not port:
                port.append(match[1])
                found.set()
        found.set()

    threading.Thread(target=drain, name="serve-output", daemon=True).start()
    try:
        if not found.wait(30) or not port:
            raise AssertionError("serve did not say where it listens:\n" + "".join(output))
        yield f"http://127.0.0.1:{port[0]}", process, output
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def serving(folder: Path, **settings: str) -> Iterator[str]:
    """The base URL of a server on its own folders."""
    with serve_process(folder, **settings) as (base, _, _):
        yield base
