"""Programs made to misbehave are contained: compiled here with gcc, run in the sandbox for real.

Hang → timeout; fork bomb → stopped by RLIMIT_NPROC and reaped; writes outside the work directory →
refused (read-only root, unprivileged user); a socket → no network (new network namespace); a crash →
its signal.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from conftest import Compiler
from splicelab.validate.classify import Roles, classify_run
from splicelab.validate.runner import host_system
from splicelab.validate.sandbox import Limits, Sandbox, namespaces_available

pytestmark = pytest.mark.skipif(not namespaces_available(), reason="needs mount/network namespaces (root)")

ROLES = Roles(lambda p: False, lambda p: False, frozenset())


def _sandbox(work: Path, **kw: object) -> Sandbox:
    system = host_system()
    return Sandbox(system.binds, work, symlinks=system.symlinks, **kw)  # type: ignore[arg-type]


def _build(gcc: Compiler, name: str, code: str) -> tuple[Path, Path]:
    work = gcc.workdir / "work"
    work.mkdir(exist_ok=True)
    exe = gcc.executable(f"work/{name}", code)
    return work, exe


def _uid_processes(uid: int) -> list[int]:
    """Live (not zombie) processes of ``uid``; SIGKILL lands asynchronously, so look for up to 2 s."""
    for _ in range(200):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.stat(f"/proc/{d}").st_uid == uid:
                        state = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0]
                        if state not in ("Z", "X"):
                            out.append(int(d))
                except (OSError, IndexError):
                    pass
        if not out:
            return out
        time.sleep(0.01)
    return out


def test_a_hang_becomes_a_timeout(gcc: Compiler) -> None:
    work, exe = _build(gcc, "hang", "#include <unistd.h>\nint main(void){ for(;;) pause(); }\n")
    with _sandbox(work) as sb:
        sb.prepare_workdir()
        res = sb.run([f"/tmp/{exe.name}"], timeout=1.0)
        uid = sb.uid
    assert res.timed_out
    assert 1.0 <= res.seconds < 5.0
    v = classify_run(res.returncode, res.stderr.decode(), timed_out=res.timed_out, roles=ROLES)
    assert v.klass == "timeout"
    assert uid is not None and _uid_processes(uid) == []


def test_a_fork_bomb_is_limited_and_reaped(gcc: Compiler) -> None:
    code = r"""
    #include <stdio.h>
    #include <unistd.h>
    int main(void) {
        int n = 0;
        for (int i = 0; i < 100000; i++) {
            pid_t p = fork();
            if (p == 0) { for (;;) pause(); }
            if (p < 0) break;
            n++;
        }
        printf("%d\n", n);
        fflush(stdout);
        return 0;
    }
    """
    work, exe = _build(gcc, "forkbomb", code)
    with _sandbox(work, limits=Limits(processes=16)) as sb:
        sb.prepare_workdir()
        res = sb.run([f"/tmp/{exe.name}"], timeout=10.0)
        uid = sb.uid
        assert uid is not None
        assert _uid_processes(uid) == []  # every child was killed after the run
    forks = int(res.stdout.decode().strip())
    assert 0 < forks < 16  # the limit stopped it, not the loop bound
    assert res.returncode == 0


def test_writes_outside_the_work_directory_are_refused(gcc: Compiler, tmp_path: Path) -> None:
    code = r"""
    #include <stdio.h>
    int main(int argc, char **argv) {
        const char *targets[] = {"/etc/splicelab-escape", "/usr/splicelab-escape", "/splicelab-escape",
                                 "../splicelab-escape", argv[1], "inside.txt"};
        for (int i = 0; i < 6; i++) {
            FILE *f = fopen(targets[i], "w");
            printf("%s %s\n", targets[i], f ? "written" : "refused");
            if (f) { fputs("x", f); fclose(f); }
        }
        return 0;
    }
    """
    work, exe = _build(gcc, "writer", code)
    outside = tmp_path / "outside.txt"
    with _sandbox(work) as sb:
        sb.prepare_workdir()
        res = sb.run([f"/tmp/{exe.name}", str(outside)], timeout=5.0)
    lines = dict(line.rsplit(" ", 1) for line in res.stdout.decode().splitlines())
    assert lines.pop("inside.txt") == "written"
    assert set(lines.values()) == {"refused"}, lines
    assert (work / "inside.txt").read_text() == "x"
    for p in (Path("/etc/splicelab-escape"), Path("/usr/splicelab-escape"), Path("/splicelab-escape"),
              work.parent / "splicelab-escape", outside):  # fmt: skip
        assert not p.exists(), p


def test_no_network(gcc: Compiler) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    code = r"""
    #include <arpa/inet.h>
    #include <errno.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/socket.h>
    int main(int argc, char **argv) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(atoi(argv[1]));
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) { puts("connected"); return 0; }
        printf("refused: %s\n", strerror(errno));
        return 3;
    }
    """
    work, exe = _build(gcc, "connector", code)
    try:
        with _sandbox(work) as sb:
            sb.prepare_workdir()
            res = sb.run([f"/tmp/{exe.name}", str(port)], timeout=5.0)
        assert res.returncode == 3, res.stdout
        assert res.stdout.startswith(b"refused")
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the host's listener
        # The same program outside the sandbox does connect: the test itself is sound.
        res_host = _sandbox(work, isolate=False)
        with res_host as sb:
            out = sb.run([str(exe), str(port)], timeout=5.0)
        assert out.stdout.startswith(b"connected")
    finally:
        server.close()


def test_a_crash_is_its_signal(gcc: Compiler) -> None:
    work, exe = _build(gcc, "crash", "int main(void){ *(volatile int *)0 = 1; return 0; }\n")
    with _sandbox(work) as sb:
        sb.prepare_workdir()
        res = sb.run([f"/tmp/{exe.name}"], timeout=5.0)
    assert res.signal == 11
    v = classify_run(res.returncode, res.stderr.decode(), timed_out=False, roles=ROLES)
    assert v.klass == "crash" and "SIGSEGV" in v.message


def test_file_size_limit(gcc: Compiler) -> None:
    code = r"""
    #include <stdio.h>
    #include <string.h>
    int main(void) {
        static char buf[1 << 20];
        memset(buf, 'x', sizeof buf);
        FILE *f = fopen("big", "w");
        for (int i = 0; i < 64; i++) if (fwrite(buf, 1, sizeof buf, f) != sizeof buf) return 4;
        return 0;
    }
    """
    work, exe = _build(gcc, "big", code)
    with _sandbox(work, limits=Limits(file_size=4 << 20)) as sb:
        sb.prepare_workdir()
        res = sb.run([f"/tmp/{exe.name}"], timeout=10.0)
    assert res.returncode != 0  # SIGXFSZ (or a failed write)
    assert (work / "big").stat().st_size <= 4 << 20
