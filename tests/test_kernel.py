"""The brief's kernel is reached over IPC sockets with an absolute path, never TCP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from valuation.report.kernel import ipc_kernel_manager_class


@pytest.mark.skipif(os.name == "nt", reason="no Unix sockets on Windows")
def test_kernel_manager_uses_ipc_with_an_absolute_socket_prefix():
    manager = ipc_kernel_manager_class()(kernel_name="python3")
    assert manager.transport == "ipc"
    # absolute: the kernel runs in the staging folder, the client elsewhere
    assert Path(manager.ip).is_absolute() and manager.ip.endswith("-ipc")
    other = ipc_kernel_manager_class()(kernel_name="python3")
    assert other.ip != manager.ip  # parallel briefs never share sockets
