"""A Dask worker plugin for the cluster tests (its own module: local-pool processes that
import the fake runner need not import distributed)."""

from __future__ import annotations

import os
import shutil
import tempfile

from distributed.diagnostics.plugin import WorkerPlugin


class FreshFolderPerTask(WorkerPlugin):
    """Run every task in a new temporary working folder, deleted when the task ends.

    A worker that keeps nothing between tasks: whatever a target leaves in its working
    folder is gone before the client sees the outcome. Needs one thread per worker (the
    working folder belongs to the process).
    """

    name = "fresh-folder-per-task"

    def setup(self, worker) -> None:
        self.home = os.getcwd()
        self.folders: dict = {}

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing":
            folder = tempfile.mkdtemp(prefix="valuation-test-worker-")
            self.folders[key] = folder
            os.chdir(folder)
        elif start == "executing" and key in self.folders:
            os.chdir(self.home)
            shutil.rmtree(self.folders.pop(key), ignore_errors=True)
