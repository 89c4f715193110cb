"""``python -m provisioning serve`` in a subprocess on a free loopback port, for the page's and the API's tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import ROOT

_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/")


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[str]:
    """The base URL of a server on its own folders (and the embedded Graph emulator unless told otherwise)."""
    env = {
        **os.environ,
        "RUNS_DIR": str(tmp_path / "runs"),
        "STATE_DIR": str(tmp_path / "state"),
        "CONFIG_DIR": str(tmp_path / "config"),
        **settings,
    }
    for name in ("HR_STORAGE", "HR_STORAGE__blobServiceUri", "HR_STORAGE__queueServiceUri", "ENTRA_BULK_UPLOAD_URL"):
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
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = _URL.search(line)
            if found:
                # Keep reading what the server prints, so that a full pipe never stalls it.
                threading.Thread(target=process.stdout.read, daemon=True).start()
                yield f"http://127.0.0.1:{found[1]}"
                return
        raise AssertionError("serve did not say where it listens:\n" + "".join(seen))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
