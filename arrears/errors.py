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


class Rejections(InputRejected):
    """Every rule a landing folder breaks, in one run (exit 3): each file, rule, count and
    first rows, one after the other. The first one's fields are the exception's own."""

    def __init__(self, rejections: Sequence[InputRejected]) -> None:
        self.rejections = list(rejections)
        first = self.rejections[0]
        self.file, self.rule, self.count = first.file, first.rule, first.count
        self.examples, self.hint, self.unit = first.examples, first.hint, first.unit
        Exception.__init__(self, self.render())

    def render(self) -> str:
        return "\n".join(rejection.render() for rejection in self.rejections)


def rejected(rejections: Sequence[InputRejected]) -> None:
    """Raise what `rejections` hold: nothing, the one, or all of them."""
    if len(rejections) == 1:
        raise rejections[0]
    if rejections:
        raise Rejections(rejections)
