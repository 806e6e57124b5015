"""The console script end to end: help works, bad input is one line on stderr and exit code 2."""

import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "inkwash", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("prepare", "preview", "colorize", "train", "data"):
        assert cmd in r.stdout


def test_unknown_command_is_usage_error():
    r = run("no-such-command")
    assert r.returncode == 2


def test_user_error_is_one_line_exit_2(tmp_path):
    r = run("colorize", str(tmp_path / "missing.png"), "-o", str(tmp_path / "out.png"))
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "missing.png" in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "out.png").exists()
