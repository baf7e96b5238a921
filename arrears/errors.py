"""Failures that map to the exit codes of docs/CONTRACT.md section 7."""

from __future__ import annotations

from collections.abc import Sequence

from arrears.personal import mask


class ArrearsError(Exception):
    """Any failure the pipeline explains itself; exit code 1 unless a subclass says otherwise."""

    exit_code = 1


class ConfigError(ArrearsError):
    """Bad arguments or configuration (exit 2): nothing was read or written."""

    exit_code = 2


class InputRejected(ArrearsError):
    """Landing data refused by validation (exit 3): nothing was published or replaced.

    The message names the file, the rule and the count (of rows, or of columns for a header),
    then shows the first offending rows by key, so an operator can fix the source without
    opening the warehouse. Whatever in the examples looks like a phone number or an id number
    is masked: the key and the rule suffice.
    """

    exit_code = 3

    def __init__(
        self,
        file: str,
        rule: str,
        count: int,
        examples: Sequence[str] = (),
        hint: str = "",
        unit: str = "row",
    ) -> None:
        self.file = file
        self.rule = rule
        self.count = count
        self.examples = [mask(example) for example in examples]
        self.hint = hint
        self.unit = unit
        super().__init__(self.render())

    def render(self) -> str:
        noun = self.unit if self.count == 1 else f"{self.unit}s"
        lines = [f"{self.file}: {self.rule} ({self.count} {noun})"]
        lines += [f"    {example}" for example in self.examples]
        if self.hint:
            lines.append(f"  -> {self.hint}")
        return "\n".join(lines)


class RunLocked(ArrearsError):
    """Another run holds the warehouse; exit 1 with a message that says which."""
