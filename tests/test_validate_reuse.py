"""A sandbox root serves many runs (one sandbox server per runner), and no run leaks into the next:

- a daemon that left its process group is killed right after its run, while the sandbox stays open;
- every splice of a runner sees a fresh work directory and a read-only stage, run after run;
- when the client dies, its sandbox server kills what is still running and exits.

gcc-compiled programs, real sandboxes (namespaces, chroot, sandbox user).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Compiler
from splicelab.validate import validate
from splicelab.validate.runner import Job, host_system
from splicelab.validate.sandbox import Bind, Sandbox, namespaces_available
from splicelab.validate.smoke import Command, SmokeConfig
from test_sandbox import _build, _sandbox, _uid_processes

pytestmark = pytest.mark.skipif(not namespaces_available(), reason="needs mount/network namespaces (root)")

DAEMON = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) {
    if (fork() == 0) {            /* leaves the process group and session, then forks the daemon */
        setsid();
        if (fork() == 0) { for (;;) pause(); }
        _exit(0);
    }
    printf("started\n");
    return 0;
}
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_a_daemon_is_killed_after_its_run_and_the_sandbox_serves_the_next(gcc: Compiler) -> None:
    work, exe = _build(gcc, "daemon", DAEMON)
    with _sandbox(work) as sb:
        sb.prepare_workdir()
        uid = sb.uid
        assert uid is not None
        for _ in range(3):
            res = sb.run([f"/tmp/{exe.name}"], timeout=5.0)
            assert res.returncode == 0 and res.stdout == b"started\n"
            assert _uid_processes(uid) == []  # gone now, not when the sandbox closes


def test_each_splice_sees_a_fresh_work_directory_and_a_read_only_stage(gcc: Compiler) -> None:
    code = r"""
    #include <stdio.h>
    #include <unistd.h>
    int foo(int);
    int main(void) {
        int bad = 0;
        if (access("marker", F_OK) == 0) { puts("stale work directory"); bad = 1; }
        FILE *m = fopen("marker", "w");
        if (m) fclose(m); else { puts("work directory not writable"); bad = 1; }
        FILE *s = fopen("/.splice/intruder", "w");
        if (s) { fclose(s); puts("stage writable"); bad = 1; }
        printf("%d\n", foo(1) > 0);
        return bad;
    }
    """
    libs = [
        gcc.shared(f"t/v{i}/libfoo.so.1", f"int foo(int x) {{ return x + {i}; }}\n", soname="libfoo.so.1")
        for i in (1, 2)
    ]
    prog = gcc.executable("t/bin/prog", code, libs=[libs[0]], flags=["-Wl,-rpath,/opt/t/v1"])
    root = gcc.workdir / "t"
    for d in (root, *(p.parent for p in libs), prog.parent):
        d.chmod(0o755)  # the sandbox user reads the bound tree
    system = host_system([Bind(root, "/opt/t")])
    smoke = SmokeConfig({"prog": (Command(()),)}, {"input.txt": b"x"})
    family = frozenset({"libfoo.so.1"})
    baseline = Job("/opt/t/bin/prog", system, {}, family, record={"baseline_key": "prog"})
    jobs = [
        (Job("/opt/t/bin/prog", system, {"libfoo.so.1": libs[i % 2]}, family, record={"i": i}), baseline)
        for i in range(6)
    ]
    outcomes = list(validate(jobs, smoke=smoke, workers=1))  # one runner: one sandbox root, reused
    assert [o["i"] for o in outcomes] == list(range(6))
    for o in outcomes:
        assert o["class"] == "ok", o
        assert "baseline" not in o  # the unspliced run was fine too
        assert o["loaded"] == {"libfoo.so.1": "/.splice/libfoo.so.1"} and o["substituted"]


CLIENT = """
import json, sys
from pathlib import Path
from splicelab.validate.runner import host_system
from splicelab.validate.sandbox import Sandbox
system = host_system()
sb = Sandbox(system.binds, Path(sys.argv[1]), symlinks=system.symlinks)
sb.open()
sb.prepare_workdir()
print(json.dumps({"uid": sb.uid, "server": sb.server.pid}), flush=True)
sb.run(["/tmp/" + sys.argv[2]], timeout=600)
"""


def test_a_killed_client_takes_its_sandbox_down(gcc: Compiler) -> None:
    work, exe = _build(gcc, "hang", "#include <unistd.h>\nint main(void){ for(;;) pause(); }\n")
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(work), exe.name], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert client.stdout is not None
        info = json.loads(client.stdout.readline())
        deadline = time.monotonic() + 10
        while not _pids_of(info["uid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pids_of(info["uid"]), "the program never started"
        os.kill(client.pid, signal.SIGKILL)
        client.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(info["server"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(info["server"])
        assert _uid_processes(info["uid"]) == []
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def _pids_of(uid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid and not _gone(int(d)):
                    out.append(int(d))
            except OSError:
                pass
    return out


def test_a_shared_server_assembles_each_root_once(gcc: Compiler) -> None:
    work, exe = _build(gcc, "hello", '#include <stdio.h>\nint main(void){ puts("hi"); return 0; }\n')
    with _sandbox(work) as first:
        first.prepare_workdir()
        assert first.server is not None
        second = Sandbox(first.binds, work, symlinks=first.symlinks, server=first.server)
        for sb in (first, second, first):
            assert sb.run([f"/tmp/{exe.name}"], timeout=5.0).stdout == b"hi\n"
        assert (
            len(list((first.server.scratch / "roots").iterdir())) == 1
        )  # the same binds: one root, made once
