"""`Check` and `DoctorReport`: the result of `doctor`."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["STATUSES", "Check", "DoctorReport", "skipped"]

#: The statuses a check can have.
STATUSES = ("pass", "warn", "fail", "skip")


@dataclass
class Check:
    """One sanity check: its name, status, what was found, the numbers and a fix.

    Attributes:
        name: The check's name, e.g. ``"init_loss"``.
        status: ``"pass"``, ``"warn"``, ``"fail"`` or ``"skip"``.
        message: What was found, in a sentence or two.
        evidence: The numbers behind it (JSON-serialisable).
        fix: What to do about a warning or failure (None when it passed).
    """

    name: str
    status: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None


def skipped(names: list[str], reason: str) -> list[Check]:
    """A ``skip`` check for each name, saying why it was not run."""
    return [Check(n, "skip", f"Not run: {reason}.") for n in names]


@dataclass
class DoctorReport:
    """The result of `doctor`: a list of `Check` objects.

    `ok` is True when no check failed; index the report by check name
    (``report["init_loss"].status``); print it for a table.

    Attributes:
        checks: The checks, in the order they ran.
        samples: How many samples of the training data the checks read (the
            data checks read all of them, the model checks a sample of at most
            512). None when unknown.
        task: ``"classification"`` or ``"regression"``, as given to `doctor` or
            inferred with `lamina.data.infer_task`. None when unknown.
    """

    checks: list[Check]
    samples: int | None = None
    task: str | None = None

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        """The checks with status ``"fail"``."""
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[Check]:
        """The checks with status ``"warn"``."""
        return [c for c in self.checks if c.status == "warn"]

    def __getitem__(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(
            f"No check named {name!r} in this report. The checks are: "
            f"{', '.join(c.name for c in self.checks)}."
        )

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Returns ``{"ok", "samples", "task", "checks": [{name, status, message, evidence, fix}]}``."""
        return {
            "ok": self.ok,
            "samples": self.samples,
            "task": self.task,
            "checks": [asdict(c) for c in self.checks],
        }

    def __str__(self) -> str:
        details = [f"n={self.samples}" if self.samples is not None else None, self.task]
        about = ", ".join(d for d in details if d)
        t = Table(
            title="Doctor: sanity checks" + (f" ({about})" if about else ""), box=box.SIMPLE_HEAD
        )
        t.add_column("check")
        t.add_column("status")
        t.add_column("finding")
        for c in self.checks:
            t.add_row(c.name, c.status.upper(), c.message)
        buffer = io.StringIO()
        Console(
            file=buffer, width=120, color_system=None, force_terminal=False, no_color=True
        ).print(t)
        lines = [buffer.getvalue().rstrip()]
        fixes = [c for c in self.checks if c.fix and c.status in ("warn", "fail")]
        if fixes:
            lines += ["", "Fixes:"] + [f"  - {c.name}: {c.fix}" for c in fixes]
        lines += ["", "OK" if self.ok else f"{len(self.failures)} check(s) failed."]
        return "\n".join(lines)
