"""What every command shares: help, version, usage errors and their exit code."""

from conftest import ycbg_binary, cli_env
import subprocess


def run(*args, **env):
    return subprocess.run([str(ycbg_binary()), *args], capture_output=True, text=True, timeout=30,
                          env=cli_env(None, **env))


def test_help_lists_the_exit_statuses():
    result = run("--help")
    assert result.returncode == 0
    for line in ("0    completed", "2    usage or configuration error", "130  interrupted"):
        assert line in result.stdout


def test_version_is_the_library_version():
    header = (ycbg_binary().parents[2] / "include/ycbg.h").read_text()
    parts = [line.split()[2] for line in header.splitlines()
             if line.startswith("#define YCBG_VERSION_") and line.split()[1] in
             ("YCBG_VERSION_MAJOR", "YCBG_VERSION_MINOR", "YCBG_VERSION_PATCH")]
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == ".".join(parts)


def test_unknown_option_is_a_usage_error():
    result = run("--no-such-option")
    assert result.returncode == 2
    assert "--no-such-option" in result.stderr
    assert result.stdout == ""


def test_rates_that_json_cannot_carry_are_usage_errors():
    # NaN or infinity would reach the library as null, i.e. silently no limit.
    for flag in ("--creates-per-second", "--polls-per-second"):
        for value in ("nan", "inf", "-inf"):
            # Loopback only (port 9, nothing listens): without the check, the
            # command would get as far as a refused connection.
            result = run("run", f"{flag}={value}", "hello", YC_API_KEY="k", YC_FOLDER_ID="f",
                         YC_BASE_URL="http://127.0.0.1:9/v1")
            assert result.returncode == 2, (flag, value, result.stderr)
            assert f"{flag} must be a finite number" in result.stderr
