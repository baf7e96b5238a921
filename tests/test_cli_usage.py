"""Bad command lines exit 2 with the usage line, a help hint and why (contract exit codes)."""

from __future__ import annotations

import pytest

from arrears.cli import main


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["nosuch"], "No such command 'nosuch'"),
        (["run", "--bogus"], "No such option: --bogus"),
        (["generate", "--loans", "many"], "Invalid value for '--loans'"),
        (["run"], "Missing option '--date'"),
    ],
)
def test_a_bad_command_line_exits_2_and_says_why(argv, reason, capsys):
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("Usage: ")
    assert "--help' for help." in stderr
    assert f"Error: {reason}" in stderr


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "Usage: " in capsys.readouterr().out
