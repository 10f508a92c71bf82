"""A throwaway PostgreSQL server for tests, started from Debian's `postgresql` binaries.

Standard library only, so CI can use it before the virtualenv exists:

    eval "$(python3 -m tests.support.postgres start)"   # exports VOUCH_TEST_POSTGRES_URL
    python3 -m tests.support.postgres stop "$VOUCH_TEST_POSTGRES_DIR"

The tests use $VOUCH_TEST_POSTGRES_URL when it is set, else start a cluster of their own
when the binaries are installed, else skip the PostgreSQL tests saying why. As root (CI and
this project's machines), the server runs as the `postgres` user the Debian package creates,
since PostgreSQL refuses to run as root. Durability is off: the data is thrown away.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

URL_VARIABLE = "VOUCH_TEST_POSTGRES_URL"
DIR_VARIABLE = "VOUCH_TEST_POSTGRES_DIR"
USER = "vouch"
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    " -c full_page_writes=off -c max_connections=100"
)


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin/ (Debian keeps it off PATH), or PATH's."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.name)],
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    return None


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here, or None if it can."""
    if find_bin_dir() is None:
        return "PostgreSQL is not installed (no initdb/pg_ctl; apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


@dataclass
class Cluster:
    directory: Path
    port: int
    bin_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        stop_cluster(self.directory)


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    runuser = shutil.which("runuser", path=search)
    if runuser is None:
        raise RuntimeError("running as root, but runuser (util-linux) is not installed")
    return [runuser, "-u", "postgres", "--", *command]


def start_cluster(directory: Path | None = None) -> Cluster:
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    bin_dir = find_bin_dir()
    assert bin_dir is not None
    directory = directory or Path(tempfile.mkdtemp(prefix="vouch-postgres-"))
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        os.chown(directory, server_user.pw_uid, server_user.pw_gid)
    data = directory / "data"
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
             "-E", "UTF8", "--no-locale", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    port = free_port()
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
             "-w", "-t", "60", "-o", f"{SERVER_OPTIONS} -p {port} -k {directory}", "start"]
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    (directory / "port").write_text(str(port))
    return Cluster(directory, port, bin_dir)


def stop_cluster(directory: Path) -> None:
    bin_dir = find_bin_dir()
    if bin_dir is not None and (directory / "data" / "postmaster.pid").exists():
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(directory / "data"), "-m", "immediate",
                 "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )  # fmt: skip
    shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        cluster = start_cluster()
        print(f"export {URL_VARIABLE}='{cluster.url}'")
        print(f"export {DIR_VARIABLE}='{cluster.directory}'")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        stop_cluster(Path(argv[1]))
        return 0
    print("usage: python3 -m tests.support.postgres start | stop DIRECTORY", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
