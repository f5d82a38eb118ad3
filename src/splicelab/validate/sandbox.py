"""A sandbox for running untrusted programs: private mount and network namespaces, a chroot, limits.

The work is done by a :class:`SandboxServer`: a small helper process (``sandbox_server.py``) that

1. left the host's mount and network namespaces when it started (``unshare(CLONE_NEWNS |
   CLONE_NEWNET)``): the new network namespace has only a loopback device that is down, so no
   connection goes anywhere;
2. assembles each root once, the first time a :class:`Sandbox` with those binds runs something: a
   private ``tmpfs`` with every :class:`Bind` mounted onto it (read-only unless marked writable),
   symlinks recreated, ``/dev/null`` & co. bound from the host, the tmpfs itself then made read-only:
   the only writable places are the work directory and other binds marked writable;
3. forks each command into a new session, which changes its root (``chroot``), drops to the unprivileged
   user id leased for this server (so ``RLIMIT_NPROC`` counts only this sandbox's processes and a
   ``kill(-1)`` as that user reaps every one of them), applies the resource limits (CPU, address space,
   processes, file size, open files, no core files) and executes the program;
4. after each run, kills whatever the program left behind (it is a child subreaper: orphans become its
   children), so the next run starts clean.

A root is reused for every later run with the same binds: callers give each run fresh contents of its
work directory (the directory itself stays, being a mount point). The mounts vanish with the server's
namespace when it exits: nothing is left on the host. When namespaces are not available (not root, or a
kernel that forbids them), :attr:`Sandbox.isolation` is ``"none"`` and programs run directly (limits and
timeouts still apply); callers then must detect library leaks themselves, and they say so in their
outcomes.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.validate import sandbox_server

# User ids handed out to sandboxes, one per concurrently running sandbox (a lock file per id).
UID_BASE = 61000
UID_COUNT = 256


@dataclass(frozen=True, slots=True)
class Bind:
    """Host path ``source`` (file or directory) appears at ``target`` inside the sandbox."""

    source: Path
    target: str
    writable: bool = False


@dataclass(frozen=True, slots=True)
class Limits:
    cpu_seconds: int = 20
    address_space: int = 4 << 30
    processes: int = 64
    file_size: int = 256 << 20
    open_files: int = 256


@dataclass
class Result:
    """What one run did. ``returncode`` is negative (-signal) when a signal killed the program."""

    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False

    @property
    def signal(self) -> int | None:
        return -self.returncode if self.returncode < 0 and not self.timed_out else None


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up (not the program failing)."""


class _UidLease:
    """An unprivileged uid reserved for one sandbox across processes (flock on a file per uid)."""

    def __init__(self, lock_dir: Path) -> None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        start = os.getpid() % UID_COUNT
        for i in range(UID_COUNT):
            uid = UID_BASE + (start + i) % UID_COUNT
            fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid = uid
            self.fd = fd
            return
        raise SandboxError(f"all {UID_COUNT} sandbox user ids are in use (locks in {lock_dir})")

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


SERVER = sandbox_server.__file__


class SandboxServer:
    """One sandbox server process (see ``sandbox_server.py``) and the user id leased for it.

    Thread-safe, but runs are sequential: give each thread its own server to run side by side. Close it
    (or use it as a context manager) to stop the server, kill what is left and release the user id.
    ``scratch`` (default: a new temporary directory) holds the roots' mount points and the runs' output
    files; the server removes it when it exits, also when this process was killed.
    """

    def __init__(self, *, isolate: bool = True, network: bool = False, scratch: Path | None = None) -> None:
        self.isolation = "namespace" if isolate and namespaces_available() else "none"
        self.note = "" if self.isolation == "namespace" else _unavailable_reason()
        self.network = network
        self._lock = threading.Lock()
        if scratch is None:
            scratch = Path(tempfile.mkdtemp(prefix="splicelab-sandbox-"))
        self.scratch = scratch  # the server removes it when it exits, whatever became of this process
        (self.scratch / "roots").mkdir()
        self._lease: _UidLease | None = None
        if self.isolation == "namespace":
            self._lease = _UidLease(Path(tempfile.gettempdir()) / "splicelab-uids")
        config = {
            "namespace": self.isolation == "namespace",
            "network": network,
            "uid": self.uid,
            "scratch": str(self.scratch),
        }
        ours, theirs = socket.socketpair()
        keep = [theirs.fileno()] + ([self._lease.fd] if self._lease else [])
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", SERVER, str(theirs.fileno()), json.dumps(config)],
                stdin=subprocess.DEVNULL,
                pass_fds=keep,  # the lease's lock lives as long as the server: no uid reused too early
                close_fds=True,
                start_new_session=True,  # it outlives a signal to our process group, to clean up after us
            )
        finally:
            theirs.close()
        self._sock = ours
        self._reader = ours.makefile("rb")
        hello = self._receive()
        if "error" in hello:  # it never got as far as building a root: nothing is mounted there
            self.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise SandboxError(f"sandbox server: {hello['error']}")

    @property
    def uid(self) -> int | None:
        return self._lease.uid if self._lease else None

    @property
    def pid(self) -> int:
        """The server process's id."""
        return self._proc.pid

    def _receive(self) -> dict[str, Any]:
        line = self._reader.readline()
        if not line:
            raise SandboxError("the sandbox server exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(
        self,
        root: Sequence[Bind],
        symlinks: Mapping[str, str],
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        limits: Limits,
        timeout: float,
        stdin: bytes | None = None,
        stdout_path: Path | None = None,
    ) -> Result:
        """Run ``argv`` in the root made of ``root`` binds and ``symlinks`` (assembled on first use)."""
        binds = [[str(b.source), b.target, b.writable, os.path.isdir(b.source)] for b in root]
        links = dict(symlinks)
        key = hashlib.sha256(json.dumps([binds, sorted(links.items())]).encode()).hexdigest()
        with self._lock:
            if self._sock.fileno() < 0:
                raise SandboxError("the sandbox server is closed")
            out = stdout_path if stdout_path is not None else self.scratch / "stdout"
            err = self.scratch / "stderr"
            stdin_path = None
            if stdin is not None:
                stdin_path = self.scratch / "stdin"
                stdin_path.write_bytes(stdin)
            request = {
                "key": key,
                "binds": binds,
                "symlinks": links,
                "argv": list(argv),
                "env": dict(env),
                "cwd": cwd,
                "stdin": str(stdin_path) if stdin_path else None,
                "stdout": str(out),
                "stderr": str(err),
                "timeout": timeout,
                "limits": {
                    "cpu_seconds": limits.cpu_seconds,
                    "address_space": limits.address_space,
                    "processes": limits.processes,
                    "file_size": limits.file_size,
                    "open_files": limits.open_files,
                },
            }
            try:
                self._sock.sendall(json.dumps(request).encode() + b"\n")
                reply = self._receive()
            except OSError as exc:
                raise SandboxError(f"the sandbox server is gone: {exc}") from None
            if "error" in reply:
                raise SandboxError(f"sandbox setup failed: {reply['error']}")
            failed = reply.get("setup_error")
            if failed:
                if failed["stage"] == "exec" and failed["errno"]:
                    raise OSError(failed["errno"], f"{argv[0]}: {os.strerror(failed['errno'])}")
                raise SandboxError(f"sandbox setup failed: {failed['message']}")
            stdout = b"" if stdout_path is not None else out.read_bytes()
            stderr = err.read_bytes()
        return Result(list(argv), reply["returncode"], stdout, stderr, reply["seconds"], reply["timed_out"])

    def close(self) -> None:
        """Stop the server (it kills what is left as its user first), then release the user id."""
        with self._lock:
            if self._sock.fileno() >= 0:
                self._reader.close()
                self._sock.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._lease is not None:
                self._lease.release()
                self._lease = None

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Sandbox:
    """A description of one sandbox: what its root holds and the limits of each run.

    ``binds`` and ``symlinks`` (path inside → link target) make up the root; ``workdir`` (a host
    directory) is bound writable at ``inside_workdir``. Runs go to ``server`` when given (several
    sandboxes may share one: each root is assembled once), else to a server of its own, started on
    :meth:`open` and stopped on :meth:`close` (use the sandbox as a context manager).
    """

    binds: Sequence[Bind]
    workdir: Path
    symlinks: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    inside_workdir: str = "/tmp"
    network: bool = False
    isolate: bool = True
    server: SandboxServer | None = None

    def __post_init__(self) -> None:
        self._own = self.server is None
        if self.server is not None:
            self.isolation, self.note = self.server.isolation, self.server.note
        else:
            self.isolation = "namespace" if self.isolate and namespaces_available() else "none"
            self.note = "" if self.isolation == "namespace" else _unavailable_reason()

    # --- lifecycle ---

    def __enter__(self) -> Sandbox:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self.server is None:
            self.server = SandboxServer(isolate=self.isolation == "namespace", network=self.network)
            self._own = True

    def close(self) -> None:
        if self._own and self.server is not None:
            self.server.close()
            self.server = None

    @property
    def uid(self) -> int | None:
        return self.server.uid if self.server else None

    # --- paths ---

    def path(self, inside: str) -> str:
        """The path a program sees for ``inside``: itself when isolated, else the host path it maps to."""
        if self.isolation == "namespace":
            return inside
        for _ in range(16):  # the root's own symlinks (lib64 -> usr/lib64) resolve inside it
            for link, target in self.symlinks.items():
                if inside == link or inside.startswith(link + "/"):
                    dest = target if target.startswith("/") else os.path.join(os.path.dirname(link), target)
                    inside = os.path.normpath(dest + inside[len(link) :])
                    break
            else:
                break
        if inside == self.inside_workdir or inside.startswith(self.inside_workdir.rstrip("/") + "/"):
            return str(self.workdir) + inside[len(self.inside_workdir.rstrip("/")) :]
        best = None
        for b in self.binds:
            t = b.target.rstrip("/") or "/"
            if (inside == t or inside.startswith(t.rstrip("/") + "/")) and (
                best is None or len(t) > len(best[0])
            ):
                best = (t, b)
        if best is None:
            return inside
        t, b = best
        return str(b.source) + inside[len(t.rstrip("/")) :]

    # --- running ---

    def prepare_workdir(self) -> None:
        """Make the work directory writable by the sandbox user (recursively)."""
        self.open()
        chown_tree(self.workdir, self.uid)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        stdin: bytes | None = None,
        stdout_path: Path | None = None,
    ) -> Result:
        """Run ``argv`` (paths as seen inside) in the work directory; never raises for program failures.

        Output goes to files, not pipes: a child left running in the background cannot hold the run
        open, and a chatty program cannot fill a pipe nobody reads.
        """
        self.open()
        assert self.server is not None
        isolated = self.isolation == "namespace"
        root = [*self.binds, Bind(self.workdir, self.inside_workdir, writable=True)] if isolated else []
        return self.server.run(
            root,
            self.symlinks if isolated else {},
            argv,
            cwd=self.inside_workdir if isolated else str(self.workdir),
            env=env or {},
            limits=self.limits,
            timeout=timeout,
            stdin=stdin,
            stdout_path=stdout_path,
        )


def chown_tree(directory: Path, uid: int | None) -> None:
    """Give ``directory`` and everything in it to ``uid`` (nothing to do without a sandbox user)."""
    if uid is None:
        return
    for dirpath, dirnames, filenames in os.walk(directory):
        os.chown(dirpath, uid, uid)
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), uid, uid, follow_symlinks=False)


_AVAILABLE: tuple[bool, str] | None = None


def _probe() -> tuple[bool, str]:
    global _AVAILABLE
    if _AVAILABLE is None:
        if os.geteuid() != 0:
            _AVAILABLE = (False, "not running as root: no mount/network namespaces, no chroot")
        else:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                code = 0
                try:
                    sandbox_server.enter_namespaces(network=False)
                except OSError as exc:
                    code = exc.errno or errno.EPERM
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            _AVAILABLE = (True, "") if code == 0 else (False, f"unshare/mount failed: {os.strerror(code)}")
    return _AVAILABLE


def namespaces_available() -> bool:
    """Whether this process may create mount and network namespaces (root on a permissive kernel)."""
    return _probe()[0]


def _unavailable_reason() -> str:
    return _probe()[1] or "isolation switched off"
