"""Drive a private JupyterLab server, its kernels and its pages for the browser tests.

The server runs in a temporary root with its own config, data and runtime folders, so the user's
settings, kernels and workspaces never leak in, and nothing talks to the network (no news, no
update check, no extension manager lookups). The tests talk to a notebook's kernel directly over
ZeroMQ (the connection file sits in our runtime folder), which gives kernel-side answers without
adding cells to the notebook under test.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[2]
ASSETS = Path(os.environ.get("OCCLUSION_WIDGET_ASSETS", REPO.parent / "shared" / "assets"))
CHROMIUM = os.environ.get("OW_CHROMIUM", "/usr/bin/chromium")

# Flags that keep Chromium quiet and offline: no background requests, no updates, no sync.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--password-store=basic",
]


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1
) -> Any:
    """Poll ``condition`` until it returns something truthy; raise naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as err:  # the thing polled may not exist yet
            last_error = err
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterServer:
    """A JupyterLab (and Notebook 7) server on 127.0.0.1 with a random port and token."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notebooks = root / "notebooks"
        self.home = root / "jupyter"
        self.runtime_dir = self.home / "runtime"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "jupyter-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def _write_config(self) -> Path:
        config_dir = self.home / "config"
        settings = self.home / "user-settings"
        for folder in (config_dir, settings, self.home / "data", self.runtime_dir):
            folder.mkdir(parents=True, exist_ok=True)
        server_config = {
            "ServerApp": {
                "ip": "127.0.0.1",
                "port": self.port,
                "port_retries": 0,
                "open_browser": False,
                "root_dir": str(self.notebooks),
                # Root in a container; harmless elsewhere.
                "allow_root": os.geteuid() == 0,
            },
            "IdentityProvider": {"token": self.token},
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                "extension_manager": "readonly",
                "user_settings_dir": str(settings),
                "workspaces_dir": str(self.home / "workspaces"),
            },
            "LabServerApp": {
                "user_settings_dir": str(settings),
                "workspaces_dir": str(self.home / "workspaces"),
            },
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config))
        # No news question, no update check, no autosave surprises in the page either.
        notification = settings / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True, exist_ok=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        # Autosave off: a save a test did not ask for can race one it did (the file on disk
        # already looks saved while the page still holds unsaved changes).
        docmanager = settings / "@jupyterlab" / "docmanager-extension"
        docmanager.mkdir(parents=True, exist_ok=True)
        (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
        return config_dir

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        config_dir = self._write_config()
        env.update(
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(self.home / "ipython"),
            MPLCONFIGDIR=str(self.home / "matplotlib"),
            MPLBACKEND="Agg",
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONUNBUFFERED="1",
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        )
        # Real ImageNet weights and photos, offline: what the Makefile exports, for direct runs.
        keras_home = ASSETS / "keras_home"
        if keras_home.is_dir():
            env.setdefault("KERAS_HOME", str(keras_home))
            env.setdefault("OCCLUSION_WIDGET_ASSETS", str(ASSETS))
        return env

    def start(self, timeout: float = 120.0) -> None:
        self.notebooks.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser"],
            cwd=self.notebooks,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches the kernels too
        )

        def answering() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            return "started" in self.api("GET", "/api/status")

        wait_until(answering, timeout, "JupyterLab's /api/status", interval=0.25)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for kernel in self.api("GET", "/api/kernels", default=[]):
            self.api("DELETE", f"/api/kernels/{kernel['id']}", default=None)
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        # Some tools print minified JavaScript on one line; keep each line readable.
        return "\n".join(line[:300] for line in text.splitlines()[-lines:])

    # -- REST ----------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, default: Any = ...) -> Any:
        """Call the server's REST API with the token; JSON in and out."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = response.read()
        except (urllib.error.URLError, OSError):
            if default is ...:
                raise
            return default
        return json.loads(payload) if payload else None

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"

    # -- notebooks and kernels -----------------------------------------------------------------

    def write_notebook(self, name: str, cells: Iterable[str]) -> Path:
        """Write a Python notebook of code cells (a cell starting with '#md' becomes markdown)."""
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        notebook.metadata["language_info"] = {"name": "python"}
        for source in cells:
            if source.startswith("#md\n"):
                notebook.cells.append(nbformat.v4.new_markdown_cell(source[4:]))
            else:
                notebook.cells.append(nbformat.v4.new_code_cell(source))
        path = self.notebooks / name
        nbformat.write(notebook, path)
        return path

    def copy_notebook(self, source: Path, name: str | None = None) -> Path:
        target = self.notebooks / (name or source.name)
        shutil.copyfile(source, target)
        return target

    def kernel_id_for(self, name: str) -> str:
        """The id of the kernel of the session that opened ``name``."""
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == name and session.get("kernel"):
                return str(session["kernel"]["id"])
        raise LookupError(f"no kernel session for {name}")

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions", default=[]):
            self.api("DELETE", f"/api/sessions/{session['id']}", default=None)
        for kernel in self.api("GET", "/api/kernels", default=[]):
            self.api("DELETE", f"/api/kernels/{kernel['id']}", default=None)


class KernelError(AssertionError):
    """Code sent to the kernel by a test raised."""


class Kernel:
    """A second client of a notebook's kernel, for kernel-side checks.

    Code sent here runs in the notebook's namespace but its output never reaches the page.
    """

    def __init__(self, connection_file: Path) -> None:
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code``; return what it printed; raise :class:`KernelError` if it raised."""
        printed: list[str] = []
        errors: list[str] = []

        def collect(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                errors.append("\n".join(content.get("traceback", [])) or content["evalue"])

        reply = self.client.execute_interactive(
            code, timeout=timeout, output_hook=collect, allow_stdin=False, store_history=False
        )
        if errors or reply["content"]["status"] != "ok":
            raise KernelError(f"kernel raised while running:\n{code}\n" + "\n".join(errors))
        return "".join(printed)

    def value(self, expression: str, timeout: float = 60.0) -> Any:
        """Evaluate a Python expression in the notebook's namespace and return it via JSON."""
        out = self.execute(
            f"import json as _ow_json\nprint(_ow_json.dumps({expression}), flush=True)", timeout
        )
        return json.loads(out.strip().splitlines()[-1])

    def wait_for(self, expression: str, predicate: Callable[[Any], bool], timeout: float) -> Any:
        """Poll ``expression`` in the kernel until ``predicate(value)`` holds; return the value."""
        seen: list[Any] = []

        def check() -> bool:
            seen.append(self.value(expression))
            return predicate(seen[-1])

        try:
            wait_until(check, timeout, f"kernel value {expression!r}", interval=0.2)
        except TimeoutError as err:
            raise TimeoutError(f"{err}; last value: {seen[-1] if seen else None!r}") from None
        return seen[-1]

    def close(self) -> None:
        self.client.stop_channels()
