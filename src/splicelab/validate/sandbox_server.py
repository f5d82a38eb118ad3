"""The sandbox server: a small long-lived helper process, already inside the sandbox's private mount and
network namespaces, that assembles each root once and forks every command into it.

:class:`splicelab.validate.sandbox.SandboxServer` starts one per sandbox user id, as
``python -I -S sandbox_server.py FD CONFIG`` (standard library only and site-packages off, so it starts
fast and forks cheaply), and talks to it over the socket FD, one JSON object per line each way:

- start-up: ``unshare(CLONE_NEWNS | CLONE_NEWNET)`` (network kept only when asked), every mount made
  private; the server becomes a *child subreaper*; it answers ``{"ok": true}`` or ``{"error": …}``;
- ``{"op": "run", "key", "binds", "symlinks", "argv", "env", "cwd", "stdin", "stdout", "stderr",
  "timeout", "limits"}`` — the root named ``key`` is assembled the first time it is used (a private
  ``tmpfs``; every bind mounted read-only unless writable; the symlinks; ``/dev/null`` & co.; then the
  tmpfs itself made read-only) and kept for later runs (the least recently used are dropped beyond
  :data:`MAX_ROOTS`). Then ``fork``; the child starts a new session, takes the files as fds 0-2,
  ``chroot``\\s into the root, becomes the sandbox user (no groups), sets the limits and ``execve``\\s.
  The server waits on a pidfd up to the time limit, kills the program's process group when it is over,
  and kills by user id whatever the run left behind;
- end of input (the client closed the socket or died) or SIGTERM: everything still running as the
  sandbox user is killed, the roots are detached, the client's scratch directory for this server is
  removed (nothing is left behind by a client killed with SIGKILL either), the server exits and its
  namespaces, with every mount, vanish. The server runs
  in a session of its own, so a terminal's Ctrl-C or a signal to the client's process group reaches
  only the client, whose end of the socket then closes.

Because the server is a child subreaper, whatever a program leaves running (a daemon that left its
process group, a fork bomb's children) becomes the server's child once its own parent is gone: one look
at the server's children after each run tells whether anything is left, and it is all killed before the
next run starts. Runs are sequential; one server serves one client thread at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import time
import traceback
from collections import OrderedDict
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2
PR_SET_CHILD_SUBREAPER = 36

DEVICES = ("null", "zero", "urandom", "random", "full")
MAX_ROOTS = 64
RLIMITS = {
    "cpu_seconds": resource.RLIMIT_CPU,
    "address_space": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _check(rc: int, what: str) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    rc = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    _check(rc, f"mount {source} on {target}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def enter_namespaces(network: bool) -> None:
    """A private mount namespace (and, unless ``network``, a network namespace with loopback down)."""
    unshare(CLONE_NEWNS | (0 if network else CLONE_NEWNET))
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def build_root(root: str, binds: list[list[Any]], symlinks: dict[str, str]) -> None:
    """Assemble a read-only root at ``root``: ``binds`` are ``[source, target, writable, is_dir]``."""
    mount("splicelab", root, "tmpfs", MS_NOSUID, "size=1m,mode=755")
    for d in ("dev", "tmp", "proc"):
        os.makedirs(root + "/" + d, exist_ok=True)
    for dev in DEVICES:
        target = f"{root}/dev/{dev}"
        open(target, "w").close()
        mount(f"/dev/{dev}", target, None, MS_BIND)
    for link, target in symlinks.items():
        path = root + link
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)
    for source, target, writable, is_dir in binds:
        path = root + target
        if is_dir:
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.lexists(path):
                open(path, "w").close()
        mount(source, path, None, MS_BIND | MS_REC)
        if not writable:
            mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID, "size=1m,mode=755")


def kill_user(uid: int) -> None:
    """Kill every process running as ``uid``: ``kill(-1)`` from a child that became that user."""
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


class Server:
    def __init__(self, sock: socket.socket, config: dict[str, Any]) -> None:
        self.sock = sock
        self.namespace: bool = config["namespace"]
        self.uid: int | None = config.get("uid")
        self.scratch: str = config["scratch"]  # the client's directory for this server; removed on exit
        self.base = os.path.join(self.scratch, "roots")
        self.roots: OrderedDict[str, str] = OrderedDict()
        self._count = 0
        self._children = f"/proc/self/task/{os.getpid()}/children"

    # --- roots ---

    def root(self, key: str, binds: list[list[Any]], symlinks: dict[str, str]) -> str:
        path = self.roots.get(key)
        if path is not None:
            self.roots.move_to_end(key)
            return path
        self._count += 1
        path = os.path.join(self.base, f"root{self._count}")
        os.mkdir(path)
        try:
            build_root(path, binds, symlinks)
        except OSError:
            _libc.umount2(path.encode(), MNT_DETACH)
            raise
        self.roots[key] = path
        while len(self.roots) > MAX_ROOTS:
            _, old = self.roots.popitem(last=False)
            _libc.umount2(old.encode(), MNT_DETACH)  # the whole tree of binds goes with it
            with contextlib.suppress(OSError):
                os.rmdir(old)
        return path

    # --- runs ---

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        root = self.root(req["key"], req["binds"], req["symlinks"]) if self.namespace else None
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fds = [
            os.open(req.get("stdin") or os.devnull, os.O_RDONLY),
            os.open(req["stdout"], flags, 0o644),
            os.open(req["stderr"], flags, 0o644),
        ]
        err_r, err_w = os.pipe()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked child
            self._child(req, root, fds, err_w)
        os.close(err_w)
        for fd in fds:
            os.close(fd)
        with os.fdopen(err_r, "rb") as f:
            failure = f.read()  # empty once execve succeeded (the pipe is close-on-exec)
        if failure:
            os.waitpid(pid, 0)
            return {"setup_error": json.loads(failure)}
        timed_out, client_gone = self._wait(pid, start + float(req["timeout"]))
        if timed_out or client_gone:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        seconds = time.perf_counter() - start
        self.clean_up(force=timed_out)
        if client_gone:
            self.exit()
        return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": timed_out, "seconds": seconds}

    def _child(self, req: dict[str, Any], root: str | None, fds: list[int], err_w: int) -> None:
        stage = "setup"
        try:
            os.setsid()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTERM):  # the defaults programs expect
                signal.signal(sig, signal.SIG_DFL)
            if root is not None:
                os.chroot(root)
            os.chdir(req["cwd"])
            if self.uid is not None:
                os.setgroups([])
                os.setgid(self.uid)
                os.setuid(self.uid)
            for name, value in req["limits"].items():
                resource.setrlimit(RLIMITS[name], (value, value))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            stage = "exec"
            argv = req["argv"]
            os.execve(argv[0], argv, req["env"])
        except BaseException as exc:
            errno = getattr(exc, "errno", None)
            os.write(err_w, json.dumps({"stage": stage, "errno": errno, "message": str(exc)}).encode())
        finally:
            os._exit(127)

    def _wait(self, pid: int, deadline: float) -> tuple[bool, bool]:
        """Wait for ``pid`` until ``deadline``: (timed out, client gone)."""
        pidfd = os.pidfd_open(pid)
        try:
            poll = select.poll()
            poll.register(pidfd, select.POLLIN)
            poll.register(self.sock.fileno(), select.POLLRDHUP | select.POLLHUP)
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return True, False
                ready = {fd for fd, _ in poll.poll(remaining * 1000)}
                if pidfd in ready:
                    return False, False
                if self.sock.fileno() in ready:
                    return False, True
        finally:
            os.close(pidfd)

    def _leftovers(self) -> list[int]:
        try:
            with open(self._children) as f:
                return [int(p) for p in f.read().split()]
        except OSError:  # no /proc/PID/task/TID/children on this kernel: assume the worst
            return [-1]

    def clean_up(self, force: bool = False) -> None:
        """Kill whatever the last run left behind (by user id, and one by one) and collect it."""
        left = self._leftovers()
        for _ in range(50):
            if not left and not force:
                return
            force = False
            if self.uid is not None:
                kill_user(self.uid)
            for pid in left:
                if pid > 0:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self._collect(time.monotonic() + 2.0)
            left = self._leftovers()
            if left == [-1]:  # cannot tell what is left: killed by user id once, that is all one can do
                return

    def _collect(self, deadline: float) -> None:
        """Wait for the killed children (zombies otherwise) until none is left or ``deadline``."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.001)

    def exit(self) -> None:
        """Kill what is left, remove the scratch directory (roots detached first), exit."""
        self.clean_up(force=True)
        for path in self.roots.values():
            _libc.umount2(path.encode(), MNT_DETACH)
        prefix = self.scratch.rstrip("/") + "/"
        with open("/proc/self/mountinfo") as f:
            mounted = any(line.split()[4].startswith(prefix) for line in f)
        if not mounted:  # never walk into a bind: only plain files and directories are left
            shutil.rmtree(self.scratch, ignore_errors=True)
        os._exit(0)

    # --- the loop ---

    def serve(self) -> None:
        """Answer requests until the client is gone; whatever ends the loop, clean up and exit."""
        reader = self.sock.makefile("rb")
        try:
            for line in reader:
                try:
                    reply = self.run(json.loads(line))
                except Exception as exc:
                    reply = {"error": f"{type(exc).__name__}: {exc}"}
                self.sock.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:  # the client died between a request and its reply
            pass
        except BaseException:
            traceback.print_exc()
        finally:
            self.exit()


def main(argv: list[str]) -> None:
    fd, config = int(argv[1]), json.loads(argv[2])
    for name in os.listdir("/proc/self/fd"):  # nothing the client passed reaches the programs
        if int(name) > 2:
            with contextlib.suppress(OSError):
                os.set_inheritable(int(name), False)
    sock = socket.socket(fileno=fd)
    try:
        _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")
        if config["namespace"]:
            enter_namespaces(bool(config.get("network")))
    except OSError as exc:
        sock.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
        return
    sock.sendall(b'{"ok": true}\n')
    server = Server(sock, config)
    # Terminated: nothing of the sandbox may outlive the server.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: server.exit())
    server.serve()


if __name__ == "__main__":
    main(sys.argv)
