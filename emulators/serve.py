"""Running an emulator from a shell: print where it is, serve until Ctrl-C or SIGTERM, stop cleanly."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from typing import Protocol


class Startable(Protocol):
    def start(self, port: int = 0) -> str: ...
    def stop(self) -> None: ...


def serve_until_stopped(emulator: Startable, port: int, describe: Callable[[], list[str]] | None = None) -> int:
    """Starts ``emulator``, prints its base URL (then what ``describe`` says once it runs), and blocks until
    told to stop."""
    # SIGTERM (a supervisor, a test's terminate()) stops as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(emulator.start(port), flush=True)
    for line in describe() if describe else []:
        print(line, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
