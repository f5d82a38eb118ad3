"""The Spack adapter's parsers on real Spack output, and the "no Spack here" path for real.

The ``SPACK_023_*`` texts were captured from Spack 0.23.1 run on this kind of machine (Debian 12,
gcc 11/12, clang 14/15; see docs/build.md, "The live run"); they are kept verbatim.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splicelab.build.spack import (
    INSTALL_HELP,
    Spack,
    SpackNotFoundError,
    locate,
    parse_compiler_find,
    parse_compiler_list,
    parse_install_output,
    parse_versions,
    split_install_id,
)

SPACK_023_COMPILER_FIND = """\
==> Added 4 new compilers to /opt/spack-src/0.23.1/etc/spack/linux/compilers.yaml
    gcc@12.2.0
    gcc@11.3.0
    clang@15.0.6
    clang@14.0.6
==> Compilers are defined in the following files:
    /opt/spack-src/0.23.1/etc/spack/linux/compilers.yaml
"""

SPACK_023_COMPILER_LIST = """\
==> Available compilers
-- clang debian12-x86_64 ----------------------------------------
clang@15.0.6
clang@14.0.6

-- gcc debian12-x86_64 ------------------------------------------
gcc@12.2.0
gcc@11.3.0
"""

SPACK_023_VERSIONS_SAFE = """\
  1.3.1
  1.3
  1.2.13
  1.2.12
  1.2.11
  1.2.8
  1.2.3
"""

SPACK_023_INSTALL_OK = """\
[+] /usr (external glibc-2.36-o6a3cwhnprfwt6michm5sbkyvo7tltol)
[+] /usr (external gmake-4.3-6anohipu25nxoen4zy62wcifxsn6v6zh)
==> Installing gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f [3/4]
==> No binary for gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f found: installing from source
==> No patches needed for gcc-runtime
==> gcc-runtime: Executing phase: 'install'
==> gcc-runtime: Successfully installed gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f
  Stage: 0.00s.  Install: 0.16s.  Post-install: 0.05s.  Total: 0.32s
[+] /opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-12.2.0/gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f
==> Installing zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh [4/4]
==> No binary for zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh found: installing from source
==> Fetching file:///opt/spack-live/mirror/_source-cache/archive/b3/b3a24de97a8fdbc835b9833169501030b8977031bcb54b3b3ac13740f846ab30.tar.gz
==> No patches needed for zlib
==> zlib: Executing phase: 'edit'
==> zlib: Executing phase: 'build'
==> zlib: Executing phase: 'install'
==> zlib: Successfully installed zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh
  Stage: 0.31s.  Edit: 1.16s.  Build: 9.46s.  Install: 0.13s.  Post-install: 0.01s.  Total: 11.42s
[+] /opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-12.2.0/zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh
"""  # noqa: E501

SPACK_023_INSTALL_AGAIN = """\
[+] /usr (external glibc-2.36-o6a3cwhnprfwt6michm5sbkyvo7tltol)
[+] /opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-12.2.0/gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f
[+] /opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-12.2.0/zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh
"""  # noqa: E501

SPACK_023_INSTALL_FETCH_FAILED = """\
[+] /usr (external glibc-2.36-o6a3cwhnprfwt6michm5sbkyvo7tltol)
[+] /usr (external gmake-4.3-6anohipu25nxoen4zy62wcifxsn6v6zh)
[+] /opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-12.2.0/gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f
==> Installing zlib-1.3.1-zavu7tuwmagvfcs7nvth55iqa7xuzca5 [4/4]
==> No binary for zlib-1.3.1-zavu7tuwmagvfcs7nvth55iqa7xuzca5 found: installing from source
==> Error: FetchError: All fetchers failed for spack-stage-zlib-1.3.1-zavu7tuwmagvfcs7nvth55iqa7xuzca5
        file:///opt/spack-live/mirror/_source-cache/archive/9a/9a93b2b7dfdac77ceba5a558a580e74667dd6fede4585b91eefb60f03b72df23.tar.gz: URLError: <urlopen error [Errno 2] No such file or directory: '/opt/spack-live/mirror/_source-cache/archive/9a/9a93b2b7dfdac77ceba5a558a580e74667dd6fede4585b91eefb60f03b72df23.tar.gz'>
"""  # noqa: E501

# gcc-11 without g++-11: Spack 0.23's compiler wrapper refuses zlib's configure
SPACK_023_INSTALL_CONFIGURE_FAILED = """\
[+] /usr (external glibc-2.36-o6a3cwhnprfwt6michm5sbkyvo7tltol)
[+] /usr (external gmake-4.3-7ezvs6wtu5xfdr5sscd6edewnnfdp5ju)
[+] /opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-12.2.0/gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f
==> Installing zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr [4/4]
==> No binary for zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr found: installing from source
==> Fetching file:///opt/spack-live/mirror/_source-cache/archive/b3/b3a24de97a8fdbc835b9833169501030b8977031bcb54b3b3ac13740f846ab30.tar.gz
==> No patches needed for zlib
==> zlib: Executing phase: 'edit'
==> Error: ProcessError: Command exited with status 1:
    './configure' '--prefix=/opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-11.3.0/zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr'
See build log for details:
  /opt/spack-live/stage/0.23/root/spack-stage-zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr/spack-build-out.txt
"""  # noqa: E501

# Spack 1.0.2: compilers are packages (clang is llvm), listed with their install status
SPACK_10_COMPILER_FIND = """\
==> Added 4 new compilers to /opt/spack-src/1.0.2/etc/spack/packages.yaml
    llvm@15.0.6
    llvm@14.0.6
    gcc@12.2.0
    gcc@11.3.0
==> Compilers are defined in the following files:
    /opt/spack-src/1.0.2/etc/spack/packages.yaml
"""

SPACK_10_COMPILER_LIST = """\
==> Available compilers
-- gcc debian12-x86_64 ------------------------------------------
[e]  gcc@12.2.0
[e]  gcc@11.3.0

-- llvm debian12-x86_64 -----------------------------------------
[e]  llvm@15.0.6
[e]  llvm@14.0.6
"""


def test_compiler_find_10() -> None:
    assert parse_compiler_find(SPACK_10_COMPILER_FIND) == [
        "llvm@15.0.6",
        "llvm@14.0.6",
        "gcc@12.2.0",
        "gcc@11.3.0",
    ]
    # Spack 1.0 source (cmd/compiler.py) formats new compilers as name@{versions}: "gcc@=12.2.0" too
    assert parse_compiler_find("==> Added 1 new compiler to x.yaml\n    gcc@=13.1.0\n") == ["gcc@13.1.0"]


def test_compiler_list_10() -> None:
    assert parse_compiler_list(SPACK_10_COMPILER_LIST) == [
        "gcc@12.2.0",
        "gcc@11.3.0",
        "llvm@15.0.6",
        "llvm@14.0.6",
    ]


def test_compiler_find_023() -> None:
    assert parse_compiler_find(SPACK_023_COMPILER_FIND) == [
        "gcc@12.2.0",
        "gcc@11.3.0",
        "clang@15.0.6",
        "clang@14.0.6",
    ]


def test_compiler_list_023() -> None:
    assert parse_compiler_list(SPACK_023_COMPILER_LIST) == [
        "clang@15.0.6",
        "clang@14.0.6",
        "gcc@12.2.0",
        "gcc@11.3.0",
    ]


def test_compiler_list_empty_is_empty() -> None:
    # Spack prints nothing at all when no compiler is known and stdout is not a terminal
    assert parse_compiler_list("") == []


def test_versions_023() -> None:
    versions = parse_versions(SPACK_023_VERSIONS_SAFE)
    assert versions[0] == "1.3.1" and "1.2.8" in versions and len(versions) == 7


def test_install_ok_023() -> None:
    report = parse_install_output(SPACK_023_INSTALL_OK)
    node = report.node("zlib", "1.2.13")
    assert node is not None and node.hash == "2fbf5tnvndsgaesgoqpavedwtvphn7bh"
    assert node.prefix.endswith("/gcc-12.2.0/zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh")
    assert report.phases["zlib"] == ["edit", "build", "install"]
    assert report.timings["zlib"]["build"] == pytest.approx(9.46)
    assert report.timings["zlib"]["total"] == pytest.approx(11.42)
    assert report.succeeded[-1] == "zlib-1.2.13-2fbf5tnvndsgaesgoqpavedwtvphn7bh"
    assert [n.name for n in report.installed if n.external] == ["glibc", "gmake"]
    assert report.node("glibc") is None  # externals are not what was built
    assert report.errors == []


def test_install_already_installed_023() -> None:
    report = parse_install_output(SPACK_023_INSTALL_AGAIN)
    node = report.node("zlib", "1.2.13")
    assert node is not None and node.hash.startswith("2fbf5tn")
    assert report.phases == {} and report.succeeded == []


def test_install_failure_023() -> None:
    report = parse_install_output(SPACK_023_INSTALL_FETCH_FAILED)
    assert report.node("zlib") is None
    assert len(report.errors) == 1 and report.errors[0].startswith("FetchError: All fetchers failed")
    assert report.node("gcc-runtime") is not None


def test_install_failure_with_build_log_023() -> None:
    report = parse_install_output(SPACK_023_INSTALL_CONFIGURE_FAILED)
    assert report.node("zlib") is None
    assert report.phases["zlib"] == ["edit"]
    assert report.errors == [
        "ProcessError: Command exited with status 1:\n"
        "'./configure' '--prefix=/opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-11.3.0/"
        "zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr'"
    ]
    assert report.build_logs == [
        "/opt/spack-live/stage/0.23/root/spack-stage-zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr/spack-build-out.txt"
    ]


def test_ansi_colour_is_ignored() -> None:
    coloured = "\x1b[0;94m==>\x1b[0m Available compilers\n\x1b[0;32m[e]\x1b[0m  gcc@12.2.0\n"
    assert parse_compiler_list(coloured) == ["gcc@12.2.0"]


def test_split_install_id() -> None:
    assert split_install_id("gcc-runtime-12.2.0-75b4t5rehtewc6bh4sj3aqwpli7tah3f") == (
        "gcc-runtime",
        "12.2.0",
        "75b4t5rehtewc6bh4sj3aqwpli7tah3f",
    )
    assert split_install_id("not-an-install") is None


# --- without Spack ------------------------------------------------------------------------------------


def test_locate_without_spack(tmp_path: Path) -> None:
    with pytest.raises(SpackNotFoundError) as info:
        locate({"PATH": str(tmp_path)})
    assert "SPACK_ROOT" in str(info.value) and "git clone" in str(info.value)
    with pytest.raises(SpackNotFoundError, match="has no bin/spack"):
        locate({"PATH": str(tmp_path), "SPACK_ROOT": str(tmp_path / "spack")})


def test_cli_without_spack_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPACK_ROOT"}
    env["PATH"] = os.path.dirname(sys.executable)  # python only: no spack
    proc = subprocess.run(
        [sys.executable, "-m", "splicelab", "build", "zlib"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert INSTALL_HELP.split(":")[0] in proc.stderr and "SPACK_ROOT" in proc.stderr


def test_run_kills_the_process_group_on_timeout(tmp_path: Path) -> None:
    # the runner's process handling, exercised with a plain long-running child (not a stand-in for Spack)
    marker = tmp_path / "grandchild-survived"
    child = f"import time; time.sleep(3); open({str(marker)!r}, 'w')"
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    runner = Spack(Path(sys.executable))
    result = runner.run(["-c", code], timeout=1.0, log=tmp_path / "out.log")
    assert result.timed_out and result.returncode != 0
    assert result.output == "started\n" and (tmp_path / "out.log").read_text() == "started\n"
    time.sleep(3.5)
    assert not marker.exists()
