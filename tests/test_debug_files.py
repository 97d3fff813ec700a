"""Debug files found, not hunted: a dump opened alone finds its vmlinux by build-id in the
usual directories or from a debuginfod server (a real one: Debian's debuginfod, serving a
directory on 127.0.0.1), and falls back to the dump's own symbols with one line when the
server is down or sends garbage."""
from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO

SYSRQ = REPO / "sample-dumps" / "linux-sysrq" / "vmcore.kdump"
VMLINUX_XZ = REPO / "sample-dumps" / "symbols" / "vmlinux-6.1-xcrash.xz"
BUILD_ID = "02b4464b699e3ed8275d8597b3f42f9887c20b46"
RELEASE = "6.1.192-xcrash"


@pytest.fixture(scope="module")
def vmlinux() -> Path:
    from xcrash.cache import decompressed_path
    return Path(decompressed_path(str(VMLINUX_XZ)))


def xcrash(tmp: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DEBUGINFOD_URLS", "XCRASH_DEBUG_PATH")}
    full.update({"PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp / "cache"),
                 "XCRASH_DEBUG_PATH": str(tmp / "nothing-here")})
    full.update(env)
    return subprocess.run([sys.executable, "-m", "xcrash", "-s", "--norc", "-c", "sys",
                           str(SYSRQ)], capture_output=True, text=True, env=full, timeout=600)


def kernel_line(proc: subprocess.CompletedProcess) -> str:
    return next(line for line in proc.stdout.splitlines() if "KERNEL:" in line).split(": ", 1)[1]


def test_a_debug_directory_by_build_id_and_by_release(tmp_path: Path, vmlinux: Path) -> None:
    by_id = tmp_path / "root" / "usr/lib/debug/.build-id" / BUILD_ID[:2] / f"{BUILD_ID[2:]}.debug"
    by_id.parent.mkdir(parents=True)
    os.symlink(vmlinux, by_id)
    proc = xcrash(tmp_path, XCRASH_DEBUG_PATH=str(tmp_path / "root"))
    assert proc.returncode == 0, proc.stderr
    assert kernel_line(proc) == str(by_id)
    assert f"vmlinux of build-id {BUILD_ID}: {by_id} (debug directory)" in proc.stderr
    flat = tmp_path / "flat"
    flat.mkdir()
    os.symlink(vmlinux, flat / f"vmlinux-{RELEASE}")
    assert kernel_line(xcrash(tmp_path, XCRASH_DEBUG_PATH=str(flat))) == str(flat / f"vmlinux-{RELEASE}")


def test_a_file_of_another_build_is_not_taken(tmp_path: Path) -> None:
    other = tmp_path / "flat"
    other.mkdir()
    shutil.copy(sys.executable, other / f"vmlinux-{RELEASE}")     # an ELF file, another build-id
    proc = xcrash(tmp_path, XCRASH_DEBUG_PATH=str(other))
    assert kernel_line(proc) == "(the dump: kallsyms, BTF, ORC)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def debuginfod(tmp_path_factory: pytest.TempPathFactory, vmlinux: Path):
    """Debian's debuginfod serving a directory that holds the sample's vmlinux."""
    binary = shutil.which("debuginfod")
    if binary is None:
        pytest.skip("no debuginfod here (.ci/run installs Debian's debuginfod package)")
    tmp = tmp_path_factory.mktemp("debuginfod")
    (tmp / "files").mkdir()
    shutil.copy(vmlinux, tmp / "files" / "vmlinux")
    port = _free_port()
    server = subprocess.Popen([binary, "-p", str(port), "-d", str(tmp / "db.sqlite"),
                               "-F", str(tmp / "files")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):                     # until it has scanned the file
            try:
                metrics = urllib.request.urlopen(f"{url}/metrics", timeout=2).read().decode()
                if 'scanned_files_total{source="file"} 1' in metrics and \
                        'thread_work_pending{role="scan"} 0' in metrics:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("debuginfod did not index the vmlinux in 120 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_debuginfod_gives_the_vmlinux_once_then_the_cache(tmp_path: Path, debuginfod: str) -> None:
    first = xcrash(tmp_path, DEBUGINFOD_URLS=debuginfod)
    assert first.returncode == 0, first.stderr
    cached = tmp_path / "cache" / "xcrash" / "debuginfod" / BUILD_ID / "debuginfo"
    assert kernel_line(first) == str(cached)
    assert f"({f'debuginfod {debuginfod}'})" in first.stderr
    second = xcrash(tmp_path, DEBUGINFOD_URLS=f"http://127.0.0.1:{_free_port()} {debuginfod}")
    assert "(debuginfod cache)" in second.stderr and kernel_line(second) == str(cached)


def test_a_server_down_is_one_line_and_the_dump_only_mode(tmp_path: Path) -> None:
    proc = xcrash(tmp_path, DEBUGINFOD_URLS=f"http://127.0.0.1:{_free_port()}")
    assert proc.returncode == 0
    problems = [line for line in proc.stderr.splitlines() if "debuginfod:" in line]
    assert len(problems) == 1 and "Connection refused" in problems[0]
    assert kernel_line(proc) == "(the dump: kallsyms, BTF, ORC)"


def test_a_server_sending_garbage_is_one_line_and_the_dump_only_mode(tmp_path: Path) -> None:
    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"this is not an ELF file" * 100
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = xcrash(tmp_path, DEBUGINFOD_URLS=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert proc.returncode == 0
    assert f"is not an ELF file of build-id {BUILD_ID}" in proc.stderr
    assert kernel_line(proc) == "(the dump: kallsyms, BTF, ORC)"
    assert not (tmp_path / "cache" / "xcrash" / "debuginfod" / BUILD_ID / "debuginfo").exists()


@pytest.mark.parametrize("layout", [("dump.202612071200", "dmesg.202612071200"),
                                    ("vmcore", "vmcore-dmesg.txt")])
def test_a_crash_directory_is_a_dump(tmp_path: Path, layout: tuple[str, str]) -> None:
    """What kdump-tools (Debian, Ubuntu) and kexec-tools (RHEL, Fedora) leave behind."""
    from xcrash.dump.opener import dump_in_directory
    crash_dir = tmp_path / "202612071200"
    crash_dir.mkdir()
    os.symlink(SYSRQ, crash_dir / layout[0])
    (crash_dir / layout[1]).write_text("[    0.000000] Linux version 6.1.192-xcrash\n")
    assert dump_in_directory(str(crash_dir)) == str(crash_dir / layout[0])
    proc = subprocess.run([sys.executable, "-m", "xcrash", "-s", "--norc", "--dump-only", "-c",
                           "sys", str(crash_dir)], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    assert f"DUMPFILE: {crash_dir / layout[0]}  [PARTIAL DUMP]" in proc.stdout


def test_a_directory_without_one_dump_says_so(tmp_path: Path) -> None:
    from xcrash.dump.opener import dump_in_directory
    from xcrash.errors import BadDump
    with pytest.raises(BadDump, match="no dump file"):
        dump_in_directory(str(tmp_path))
    for name in ("dump.1", "dump.2"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(BadDump, match=r"several dump files \(dump.1, dump.2\)"):
        dump_in_directory(str(tmp_path))
