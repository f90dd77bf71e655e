"""The brief's kernel: started by papermill on this machine, reached over IPC sockets.

A kernel reached over TCP listens on a local port that any user of the machine can connect
to, and warns "Kernel is running over TCP without encryption" on every brief. The brief's
kernel never leaves this machine, so it uses IPC (Unix domain sockets in the user's Jupyter
runtime folder): nothing listens on the network and the user sees only the workbench's
progress.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def ipc_kernel_manager_class() -> type:
    """A kernel manager that talks to its kernel over IPC (Unix sockets), not TCP.

    The brief's kernel runs on this machine only: IPC sockets in the Jupyter runtime folder
    are reachable by this user only, and the kernel prints no "running over TCP without
    encryption" warning. On Windows (no Unix sockets) the default TCP manager is used.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    if os.name == "nt":
        return AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            # an absolute socket prefix: the kernel runs in another working folder, so the
            # relative default ("kernel-ipc") would name different sockets on each side
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            return str(runtime / f"valuation-{os.getpid()}-{time.time_ns()}-ipc")

    return IpcKernelManager
