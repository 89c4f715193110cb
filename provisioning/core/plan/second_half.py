"""The second half of a large CSV read, mapped and indexed by a forked process, on the machine's second core.

Reading and mapping hold Python's GIL, so threads cannot share that work; a process can. The parent reads
from the top and the child from the first line after the file's middle (``CsvSource.second_half``), each
into a spool and an index of its own; the parent then takes over the child's spool, index rows and rejects
as if it had read them itself. Nothing is trusted that the parent's own reading does not confirm:

- The child's records are used only when one of the parent's records starts on exactly the child's first
  line. A quoted field spanning that line makes the parent's record run past it: the child is stopped and
  the parent reads on alone, as it always could.
- Any failure of the child (an error in the file, a crash, a kill) is thrown away with its work: the parent
  then reads the second half itself and meets the same error at the same line, with the same message.

So the outcome (requests, rejects, summary) is byte for byte the one-process outcome, which a test holds.
Used only where forking is safe and pays: a process with no other thread (a fork copies only the calling
thread, and a lock another thread held would stay locked in the child), with a second CPU, on a large
file on disk.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

MIN_BYTES = 8 * 1024 * 1024
"""A file smaller than this (about 20,000 workers in Microsoft's layout) is read by one process: a fork and
the merge cost more than half of it."""


def forking_pays() -> bool:
    """This process may fork (Linux, no other thread) and has a second CPU to run the child on. Only Linux:
    on macOS a forked child that does not exec may crash in system frameworks, which is why Python's own
    multiprocessing stopped forking there."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus > 1


@dataclass
class HalfFiles:
    """Where the child leaves its work: named files in the spool directory, removed by the parent."""

    spool: str
    index: str
    rejects: str
    outcome: str

    @classmethod
    def create(cls, directory: str | None) -> HalfFiles:
        paths = []
        for kind in ("spool", "index", "rejects", "outcome"):
            handle, path = tempfile.mkstemp(dir=directory, prefix=f"scim-half-{kind}-")
            os.close(handle)
            paths.append(path)
        return cls(*paths)

    def remove(self) -> None:
        for path in (self.spool, self.index, self.rejects, self.outcome):
            with contextlib.suppress(OSError):
                os.unlink(path)


class SecondHalf:
    """A forked child working on the records from ``first_line`` on."""

    def __init__(self, pid: int, first_line: int, files: HalfFiles) -> None:
        self.pid = pid
        self.first_line = first_line
        self.files = files
        self._done = False

    @classmethod
    def start(cls, first_line: int, work: Callable[[HalfFiles], dict[str, Any]], directory: str | None) -> SecondHalf:
        """Forks a child that runs ``work(files)`` and keeps its outcome (a picklable dict) in ``files.outcome``."""
        files = HalfFiles.create(directory)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code, never runs its exit handlers
            status = 1
            try:
                outcome = work(files)
                with open(files.outcome, "wb") as stream:
                    pickle.dump(outcome, stream, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            except BaseException:
                pass  # whatever it was, the parent reads the second half itself and meets it there
            finally:
                if os.getppid() != parent:  # the parent was killed: nobody will take over or remove the files
                    files.remove()
                os._exit(status)
        return cls(pid, first_line, files)

    def join(self) -> dict[str, Any] | None:
        """The child's outcome once it has ended, or None when it failed (its files are then removed)."""
        _, status = os.waitpid(self.pid, 0)
        self._done = True
        if os.waitstatus_to_exitcode(status) != 0:
            self.files.remove()
            return None
        try:
            with open(self.files.outcome, "rb") as stream:
                outcome: dict[str, Any] = pickle.load(stream)  # written by our own child, never read from elsewhere
        except (OSError, EOFError, pickle.UnpicklingError):
            self.files.remove()
            return None
        return outcome

    def abandon(self) -> None:
        """Stops the child and removes its files: the parent reads the second half itself."""
        if not self._done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self._done = True
        self.files.remove()


def write_rejects(path: str) -> tuple[Callable[[Any], None], IO[bytes]]:
    """A reject sink for the child that streams each reject to ``path`` (memory stays flat however many)."""
    stream = open(path, "wb")  # noqa: SIM115 - closed by the child's work when it ends
    pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)

    def sink(reject: Any) -> None:
        pickler.dump(reject)
        pickler.clear_memo()  # no growing memo: each reject stands alone

    return sink, stream


def read_rejects(path: str) -> Iterator[Any]:
    """The rejects ``write_rejects`` streamed, in order."""
    with open(path, "rb") as stream:
        while True:
            try:
                yield pickle.load(stream)  # written by our own child, never read from elsewhere
            except EOFError:
                return
