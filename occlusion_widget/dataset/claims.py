"""Who sweeps which image: atomic claims, so that writers sharing a store cooperate.

Before a writer sweeps an image it creates ``<store>/claims/<key>.<n>`` with an exclusive
create (fsspec's ``"xb"`` mode: ``O_CREAT | O_EXCL`` on a local or network filesystem, a
conditional write where an object store's fsspec driver implements one). Exactly one writer
succeeds; the others skip the image. A claim names its writer, and a writer keeps a heartbeat
file ``<store>/writers/<id>.json`` fresh while it runs. A claim whose writer is gone (its
process ended on this machine, or its heartbeat is older than :data:`STALE_AFTER` seconds)
and whose image has no row is taken over through the next number ``n + 1``, again with an
exclusive create: a crashed image is redone once, by one writer. A writer that ends deletes
the claims of the images whose rows it wrote (a store at rest holds no claim per image), so a
claim just made is checked against the table: an image done meanwhile is skipped.

The same exclusive create settles the sweep parameters (:func:`settle`): the first writer's
parameters win and every other writer is compared against them.

Claims name images by their key only, so they hold for any layout of the maps.

Examples
--------
>>> session = LocalClaims()
>>> session.claim("i0"), session.claim("i0")
('claimed', 'busy')
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
import warnings

__all__ = [
    "BUSY",
    "CLAIMED",
    "DONE",
    "Claims",
    "LocalClaims",
    "announce",
    "any_live_writer",
    "settle",
    "withdraw",
]

CLAIMED, BUSY, DONE = "claimed", "busy", "done"
#: A writer whose heartbeat is older than this many seconds is taken for dead.
STALE_AFTER = 120.0
#: How often a running writer refreshes its heartbeat.
BEAT_EVERY = 20.0

_LIVE: set[str] = set()  # writers running in this process
_CLAIM = re.compile(r"/[^/]+\.\d+$")  # <store>/claims/<key>.<n>


def _host() -> str:
    """This machine: its name and boot id (containers may share a host name)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            boot = fh.read().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


HOST = _host()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _who(writer: str) -> dict:
    """What a heartbeat or a claim says of its writer."""
    return {"writer": writer, "host": HOST, "pid": os.getpid(), "time": time.time()}


def announce(store) -> str | None:
    """Mark a writer of ``store`` (a disk store) as starting, before it has claims: a
    heartbeat file that :func:`any_live_writer` sees; its id, for :func:`withdraw`."""
    if not hasattr(store, "fs"):
        return None  # in memory: no other writer
    me = uuid.uuid4().hex
    store.fs.makedirs(f"{store.root}/writers", exist_ok=True)
    store.fs.pipe_file(f"{store.root}/writers/{me}.json", json.dumps(_who(me)).encode())
    _LIVE.add(me)
    return me


def withdraw(store, me: str | None) -> None:
    """Remove what :func:`announce` wrote (its claims, if any, keep their own heartbeat)."""
    if me is None:
        return
    _LIVE.discard(me)
    try:
        store.fs.rm_file(f"{store.root}/writers/{me}.json")
    except OSError:
        pass


def any_live_writer(fs, root: str, me: str | None = None) -> bool:
    """Whether a writer of the store at ``root`` other than ``me`` may be running: a
    heartbeat in ``writers/`` that is fresh, from a process alive (on this machine) or from
    another machine."""
    try:
        beats = [p for p in fs.ls(f"{root}/writers", detail=False) if p.endswith(".json")]
    except (FileNotFoundError, OSError):
        return False
    for path in beats:
        if me is not None and path.endswith(f"/{me}.json"):
            continue
        beat = _read_json(fs, path, tries=3)
        if not isinstance(beat, dict):
            return True  # being written: someone is there
        if beat.get("writer") in _LIVE:
            return True
        if beat.get("host") == HOST and not _pid_alive(int(beat.get("pid", -1))):
            continue
        if time.time() - float(beat.get("time", 0)) < STALE_AFTER:
            return True
    return False


def _is_local(fs) -> bool:
    protocol = fs.protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def exclusive_write(fs, path: str, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists (atomically); whether it was created.

    On a local filesystem the file appears whole (written aside, then hard-linked into place,
    which fails if it exists): a reader never takes a claim being written for an empty one.
    """
    if _is_local(fs):
        tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True
    try:
        with fs.open(path, "xb") as fh:
            fh.write(data)
    except FileExistsError:
        return False
    except (ValueError, NotImplementedError, TypeError) as exc:  # no "xb" in this driver
        if "mode" not in str(exc).lower() and not isinstance(exc, NotImplementedError):
            raise
        _warn_not_atomic(fs)
        if fs.exists(path):
            return False
        fs.pipe_file(path, data)
    return True


_WARNED: set[str] = set()


def _warn_not_atomic(fs) -> None:
    name = type(fs).__name__
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(
            f"{name} cannot create a file exclusively (fsspec mode 'xb'): claims on this store "
            f"are not atomic, so two writers at once could sweep an image twice (results stay "
            f"right, rows are compacted). Run one writer at a time, or upgrade its fsspec driver",
            stacklevel=4,
        )


def _read_json(fs, path: str, tries: int = 1):
    """The JSON document at ``path``, or None. A file just created may not be written yet:
    with ``tries`` it is read again a little later before it counts as unreadable."""
    for attempt in range(tries):
        try:
            return json.loads(fs.cat_file(path))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            if attempt + 1 < tries:
                time.sleep(0.05)
    return None


def settle(fs, path: str, content: dict) -> tuple[dict, bool]:
    """``content`` written to ``path`` if nobody wrote it first, else what is there:
    ``(settled content, whether it is ours)``. An unreadable file (cut short by a crash) is
    replaced by ``content``.

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> settle(fs, "/doc/p.json", {"stride": 4}), settle(fs, "/doc/p.json", {"stride": 8})
    (({'stride': 4}, True), ({'stride': 4}, False))
    """
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    data = json.dumps(content, sort_keys=True).encode()
    for _ in range(3):
        if exclusive_write(fs, path, data):
            return content, True
        found = _read_json(fs, path)
        if isinstance(found, dict):
            return found, False
        time.sleep(0.05)  # another writer may be mid-write: look again before repairing
    fs.pipe_file(path, data)
    return content, True


class LocalClaims:
    """Claims for a store that lives in this process only (``store=None``): an image is
    claimed once per run, so a duplicate in a stream is swept once."""

    def __init__(self):
        self.taken: set[str] = set()
        self.digests: dict[str, str] = {}  # of the images handed out, for their rows

    def claim(self, key: str, redo: bool = False) -> str:
        if key in self.taken:
            return BUSY
        self.taken.add(key)
        return CLAIMED

    def finished(self, key: str) -> None:
        pass

    def close(self) -> None:
        pass


class Claims:
    """One writer's claims on a store folder (see the module docstring).

    Parameters
    ----------
    fs, root
        The store's fsspec filesystem and its root path there.
    is_done : callable
        ``is_done(key)``: whether the image has a done row in the store now (asked when a
        claim's writer is gone, to tell a finished image from a crashed one, and after each
        new claim, since a writer that ended has deleted the claims of its images).

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> a, b = Claims(fs, "/doc/s", lambda k: False), Claims(fs, "/doc/s", lambda k: False)
    >>> a.claim("i1"), b.claim("i1")
    ('claimed', 'busy')
    >>> a.close(); b.claim("i1")  # a ended without finishing it: b takes it over
    'claimed'
    >>> b.close()
    """

    def __init__(self, fs, root: str, is_done):
        self.fs = fs
        self.dir = f"{root}/claims"
        self.beats = f"{root}/writers"
        self.is_done = is_done
        self.id = uuid.uuid4().hex
        self.pending: dict[str, str] = {}  # claimed, not finished: released if we stop
        self.done: list[str] = []  # claims of images whose rows are written: go at close
        self.holder: dict | None = None  # the live claim found by the last "busy"
        self.digests: dict[str, str] = {}  # of the images handed out, for their rows
        self._stop = threading.Event()
        fs.makedirs(self.dir, exist_ok=True)
        fs.makedirs(self.beats, exist_ok=True)
        _LIVE.add(self.id)
        self._beat()
        self._thread = threading.Thread(target=self._beating, name="ow-store-heartbeat")
        self._thread.daemon = True
        self._thread.start()

    def _payload(self, keys=None, digests=None) -> bytes:
        who = _who(self.id)
        if keys is not None:
            who["keys"] = list(keys)
        if digests is not None:
            who["digests"] = list(digests)
        return json.dumps(who).encode()

    def _beat(self) -> None:
        path = f"{self.beats}/{self.id}.json"
        if _is_local(self.fs):  # replaced whole: a reader never sees it half written
            tmp = f"{path}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(self._payload())
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, self._payload())

    def _beating(self) -> None:
        while not self._stop.wait(BEAT_EVERY):
            try:
                self._beat()
            except Exception:  # a flaky store: the next beat tries again
                pass

    def alive(self, holder) -> bool:
        """Whether the writer that made a claim may still be working on it."""
        if not isinstance(holder, dict):
            return False  # a claim cut short by a crash
        if holder.get("writer") in _LIVE:
            return True
        if holder.get("host") == HOST:
            pid = int(holder.get("pid", -1))
            if pid == os.getpid() or not _pid_alive(pid):
                return False
        beat = _read_json(self.fs, f"{self.beats}/{holder.get('writer')}.json", tries=10)
        return isinstance(beat, dict) and time.time() - float(beat.get("time", 0)) < STALE_AFTER

    def claim(self, key: str, redo: bool = False, keys=None, digests=None) -> str:
        """``"claimed"`` (sweep it), ``"busy"`` (another live writer has it: its claim is then
        in :attr:`holder`) or ``"done"`` (a writer that is gone finished it). ``redo`` claims
        a finished image again. A claim on a block of images (a key starting with ``_``)
        lists their ``keys`` and their images' ``digests``, so that a writer given other
        images under the same keys is refused before the first of them has a row."""
        n = 0
        while True:
            path = f"{self.dir}/{key}.{n}"
            if exclusive_write(self.fs, path, self._payload(keys, digests)):
                if not redo and not key.startswith("_") and self.is_done(key):
                    self.fs.rm_file(path)  # finished by a writer that has ended meanwhile
                    return DONE
                self.pending[key] = path
                return CLAIMED
            holder = _read_json(self.fs, path, tries=10)
            if self.alive(holder):
                self.holder = holder
                return BUSY
            if not redo and not self.fs.exists(f"{self.dir}/{key}.{n + 1}") and self.is_done(key):
                return DONE
            n += 1

    def finished(self, key: str) -> None:
        """The image's row is written (or about to be flushed): its claim stays as a mark
        while this writer runs, and goes when it closes (the row marks the image then)."""
        path = self.pending.pop(key, None)
        if path:
            self.done.append(path)

    def close(self) -> None:
        """Stop the heartbeat and release the claims of images not swept (cancel, error)."""
        self._stop.set()
        for path in self.pending.values():
            try:
                self.fs.rm_file(path)
            except OSError:
                pass
        self.pending.clear()
        for path in self.done:  # their rows are written: a store at rest keeps no claim
            stem, n = path.rsplit(".", 1)
            for m in range(int(n) + 1):  # nor those of the gone writers before this one
                try:
                    self.fs.rm_file(f"{stem}.{m}")
                except OSError:
                    pass
        self.done.clear()
        _LIVE.discard(self.id)
        try:
            self.fs.rm_file(f"{self.beats}/{self.id}.json")
        except OSError:
            pass
        self._sweep_dead()

    def _sweep_dead(self) -> None:
        """Remove the claims and heartbeats of writers that are gone (killed, crashed): a
        store at rest keeps none. A gone writer's claim is taken over anyway (``n + 1``), so
        removing it loses nothing; the settled parameters (``_params.json``) are no claims."""
        try:
            claims = [p for p in self.fs.ls(self.dir, detail=False) if _CLAIM.search(p)]
            beats = [p for p in self.fs.ls(self.beats, detail=False) if p.endswith(".json")]
        except OSError:
            return
        for path in claims + beats:
            holder = _read_json(self.fs, path)
            if holder is None or self.alive(holder):
                continue  # unreadable now (being written), or its writer may still run
            try:
                self.fs.rm_file(path)
            except OSError:
                pass
