"""Real splices per second: preload, hermetic-loader and rewire methods, on the same small splices.

A small program and two builds of its library are compiled with gcc; each splice runs the program in
the sandbox (namespaces, chroot, sandbox user, limits) with one build swapped in, checks its output and
(unless --no-verify) records which file the loader really loaded. Run:

    python3 benchmarks/bench_validate.py [--splices 400] [--workers 2] [--no-verify]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from splicelab.validate import validate
from splicelab.validate.runner import Job, host_system
from splicelab.validate.smoke import Command, SmokeConfig

LIB = "int foo(int x) { return x + %d; }\n"
PROG = '#include <stdio.h>\nint foo(int);\nint main(void) { printf("%%d\\n", foo(1) > 0); return 0; }\n'


def build(tmp: Path) -> tuple[Path, list[Path]]:
    libs = []
    for i in (1, 2):
        d = tmp / f"v{i}"
        d.mkdir()
        (d / "foo.c").write_text(LIB % i)
        out = str(d / "libfoo.so.1")
        cmd = ["gcc", "-shared", "-fPIC", "-O1", "-Wl,-soname,libfoo.so.1", "-o", out, str(d / "foo.c")]
        subprocess.run(cmd, check=True)
        libs.append(d / "libfoo.so.1")
    (tmp / "prog.c").write_text(PROG % ())
    prog = tmp / "bin" / "prog"
    prog.parent.mkdir()
    subprocess.run(["gcc", "-O1", "-o", str(prog), str(tmp / "prog.c"), str(libs[0]),
                    "-Wl,-rpath,/opt/bench/v1"], check=True)  # fmt: skip
    return prog, libs


def run(method: str, n: int, workers: int, verify: bool, prog: Path, libs: list[Path], tmp: Path) -> float:
    from splicelab.validate.sandbox import Bind

    system = host_system([Bind(tmp, "/opt/bench")])
    smoke = SmokeConfig({"prog": (Command(()),)}, {})
    jobs = []
    for i in range(n):
        lib = libs[i % 2]
        job = Job("/opt/bench/bin/prog", system, {"libfoo.so.1": lib}, frozenset({"libfoo.so.1"}),
                  method, record={"i": i}, program_host=prog)  # fmt: skip
        if method == "rewire":
            job.rewire_rpath = ["/.splice"]
        jobs.append((job, None))
    start = time.perf_counter()
    outs = list(validate(jobs, smoke=smoke, workers=workers, verify=verify))
    seconds = time.perf_counter() - start
    bad = [o for o in outs if o["class"] != "ok" or (verify and not o["substituted"])]
    assert not bad, bad[:1]
    return n / seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splices", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-verify", action="store_true", help="do not record the loaded libraries (LD_DEBUG)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        tmp.chmod(0o755)  # the sandbox runs programs as an unprivileged user
        prog, libs = build(tmp)
        for method in ("preload", "hermetic", "rewire"):
            rate = run(method, a.splices, a.workers, not a.no_verify, prog, libs, tmp)
            print(f"{method:9s} {rate:7.1f} splices/s  ({a.splices} splices, {a.workers} workers, "
                  f"verify={'off' if a.no_verify else 'on'})")  # fmt: skip


if __name__ == "__main__":
    main()
