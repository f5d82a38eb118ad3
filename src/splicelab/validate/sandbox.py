"""A sandbox for running untrusted programs: private mount and network namespaces, a chroot, limits.

Each :meth:`Sandbox.run` forks a child that, before ``exec``:

1. leaves the host's mount and network namespaces (``unshare(CLONE_NEWNS | CLONE_NEWNET)``): the new
   network namespace has only a loopback device that is down, so no connection goes anywhere;
2. builds a new root on a private ``tmpfs``: every :class:`Bind` is bind-mounted onto it (read-only
   unless marked writable), symlinks are recreated, ``/dev/null`` & co. are bound from the host, and
   the tmpfs itself is then made read-only: the only writable place is the work directory;
3. ``chroot``\\s into it, drops to an unprivileged user id reserved for this sandbox (so ``RLIMIT_NPROC``
   counts only this sandbox's processes and a ``kill(-1)`` as that user reaps every one of them),
4. applies resource limits (CPU, address space, processes, file size, open files).

The mounts vanish with the namespace when the last process in it exits: nothing is left on the host.
When namespaces are not available (not root, or a kernel that forbids them), :attr:`Sandbox.isolation`
is ``"none"`` and programs run directly (limits and timeouts still apply); callers then must detect
library leaks themselves (``ld.so --list``), and they say so in their outcomes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import resource
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

# User ids handed out to sandboxes, one per concurrently running sandbox (a lock file per id).
UID_BASE = 61000
UID_COUNT = 256
DEVICES = ("null", "zero", "urandom", "random", "full")


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


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    rc = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {source} on {target}: {os.strerror(e)}")


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare: {os.strerror(e)}")


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
            self._fd = fd
            return
        raise SandboxError(f"all {UID_COUNT} sandbox user ids are in use (locks in {lock_dir})")

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _reap_uid(uid: int) -> None:
    """Kill every process running as ``uid`` (what a fork bomb or a daemonised child left behind)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child
        try:
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(20):  # again, for children forked while the first signals were sent
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.0005)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


@dataclass
class Sandbox:
    """A reusable description of one sandbox: what the new root holds and the limits of each run.

    ``binds`` and ``symlinks`` (path inside → link target) make up the root; ``workdir`` (a host
    directory) is bound writable at ``inside_workdir``. Use as a context manager (it leases a uid).
    """

    binds: Sequence[Bind]
    workdir: Path
    symlinks: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    inside_workdir: str = "/tmp"
    network: bool = False
    isolate: bool = True

    def __post_init__(self) -> None:
        self._lease: _UidLease | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self.isolation = "namespace" if self.isolate and namespaces_available() else "none"
        self.note = "" if self.isolation == "namespace" else _unavailable_reason()

    # --- lifecycle ---

    def __enter__(self) -> Sandbox:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="splicelab-sandbox-")
            (Path(self._scratch.name) / "root").mkdir()
        if self.isolation == "namespace" and self._lease is None:
            self._lease = _UidLease(Path(tempfile.gettempdir()) / "splicelab-uids")

    def close(self) -> None:
        if self._lease is not None:
            _reap_uid(self._lease.uid)
            self._lease.release()
            self._lease = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    @property
    def uid(self) -> int | None:
        return self._lease.uid if self._lease else None

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
        if self.uid is None:
            return
        for dirpath, dirnames, filenames in os.walk(self.workdir):
            os.chown(dirpath, self.uid, self.uid)
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), self.uid, self.uid, follow_symlinks=False)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        stdin: bytes | None = None,
        stdout_path: Path | None = None,
    ) -> Result:
        """Run ``argv`` (paths as seen inside) in the work directory; never raises for program failures."""
        self.open()
        assert self._scratch is not None
        newroot = os.path.join(self._scratch.name, "root")
        preexec = _Preexec(self, newroot) if self.isolation == "namespace" else _Preexec(self, None)
        # Output goes to files, not pipes: a child left running in the background cannot hold the
        # run open, and a chatty program cannot fill a pipe nobody reads.
        scratch = Path(self._scratch.name)
        out_target = stdout_path if stdout_path is not None else scratch / "stdout"
        err_target = scratch / "stderr"
        start = time.perf_counter()
        timed_out = False
        with open(out_target, "wb") as out_f, open(err_target, "wb") as err_f:
            try:
                proc = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=out_f,
                    stderr=err_f,
                    cwd=str(self.workdir),
                    env=dict(env or {}),
                    preexec_fn=preexec,
                    start_new_session=True,
                    close_fds=True,
                )
            except subprocess.SubprocessError as exc:
                raise SandboxError(f"sandbox setup failed: {exc}") from None
            try:
                if stdin is not None and proc.stdin is not None:
                    with contextlib.suppress(BrokenPipeError):
                        proc.stdin.write(stdin)
                    proc.stdin.close()
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
                proc.wait()
        seconds = time.perf_counter() - start
        leftovers = True
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            leftovers = False
        if self.uid is not None and (leftovers or timed_out or proc.returncode != 0):
            _reap_uid(self.uid)  # what the program left running (a fork bomb, children) goes now
        elif leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        # (A daemon that left the process group is reaped when the sandbox closes, by its user id.)
        out = b"" if stdout_path is not None else out_target.read_bytes()
        err = err_target.read_bytes()
        return Result(list(argv), proc.returncode, out, err, seconds, timed_out)

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if self.uid is not None:
            _reap_uid(self.uid)
        proc.kill()


class _Preexec:
    """The child's set-up between fork and exec (only async-signal-tolerant work, no imports)."""

    def __init__(self, sb: Sandbox, newroot: str | None) -> None:
        self.newroot = newroot
        self.binds = [(str(b.source), b.target, b.writable, os.path.isdir(b.source)) for b in sb.binds]
        self.binds.append((str(sb.workdir), sb.inside_workdir, True, True))
        self.symlinks = dict(sb.symlinks)
        self.uid = sb.uid
        self.limits = sb.limits
        self.network = sb.network
        self.inside_workdir = sb.inside_workdir

    def __call__(self) -> None:
        lim = self.limits
        if self.newroot is not None:
            flags = CLONE_NEWNS | (0 if self.network else CLONE_NEWNET)
            _unshare(flags)
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            root = self.newroot
            _mount("splicelab", root, "tmpfs", MS_NOSUID, "size=1m,mode=755")
            for d in ("dev", "tmp", "proc"):
                os.makedirs(root + "/" + d, exist_ok=True)
            for dev in DEVICES:
                target = f"{root}/dev/{dev}"
                open(target, "w").close()
                _mount(f"/dev/{dev}", target, None, MS_BIND)
            for link, target in self.symlinks.items():
                path = root + link
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.symlink(target, path)
            for source, target, writable, is_dir in self.binds:
                path = root + target
                if is_dir:
                    os.makedirs(path, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    if not os.path.lexists(path):
                        open(path, "w").close()
                _mount(source, path, None, MS_BIND | MS_REC)
                if not writable:
                    _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
            _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID, "size=1m,mode=755")
            os.chroot(root)
            os.chdir(self.inside_workdir)
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (lim.address_space, lim.address_space))
        resource.setrlimit(resource.RLIMIT_NPROC, (lim.processes, lim.processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.file_size, lim.file_size))
        resource.setrlimit(resource.RLIMIT_NOFILE, (lim.open_files, lim.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
                    _unshare(CLONE_NEWNS | CLONE_NEWNET)
                    _mount(None, "/", None, MS_REC | MS_PRIVATE)
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
