"""A real mosquitto broker for the tests, on a free loopback port, with a password file."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    def __init__(self, workdir: Path, users: dict[str, str]) -> None:
        for tool in ("mosquitto", "mosquitto_passwd"):
            if shutil.which(tool) is None:
                pytest.fail(f"{tool} is not installed: apt-get install -y mosquitto (make test installs it)")
        self.port = free_port()
        passwords = workdir / "passwd"
        passwords.touch(mode=0o600)
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {passwords}\n"
            "persistence false\n"
            "log_dest stderr\n" + ("user root\n" if os.geteuid() == 0 else "")
            # as root it would switch to the mosquitto user, who cannot read the test's files
        )
        self.log = (workdir / "mosquitto.log").open("w")
        self.process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"mosquitto did not start; see {workdir / 'mosquitto.log'}")
                time.sleep(0.05)

    def url(self, user: str, password: str) -> str:
        return f"mqtt://{user}:{password}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
