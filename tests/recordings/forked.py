"""Run a function in a forked child process whose acknowledgements the test reads, then kill -9 it.

Forking the already-initialised test process (numpy, h5py, sqlite3 imported) makes a trial cost
milliseconds instead of a Python start-up, so the kill tests can afford many random kill points.
The child writes one line per acknowledged unit of work to a pipe and never returns.
"""
from __future__ import annotations

import os
import signal
from typing import Callable, TextIO


class ForkedChild:
    def __init__(self, work: Callable[[Callable[[str], None]], None]) -> None:
        read_fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:                     # child
            os.close(read_fd)
            code = 0
            try:
                def say(line: str) -> None:
                    os.write(write_fd, (line + "\n").encode())
                work(say)
            except BaseException:           # noqa: BLE001 - the parent sees the missing acks
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        self.stdout: TextIO = os.fdopen(read_fd, "r")

    def kill(self) -> list[str]:
        """SIGKILL the child; return the lines it wrote that were not read yet."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        rest = self.stdout.read().splitlines()
        self.stdout.close()
        os.waitpid(self.pid, 0)
        return [line.strip() for line in rest]
