"""The Sanity checks section: the `DoctorReport` of `lamina.workflow.doctor`."""

from __future__ import annotations

from typing import Any

from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import _e, _Page, _table


def doctor_section(page: _Page, doctor: Any) -> None:
    """One row per check (status coloured), the fixes of the failed ones."""
    page.section("doctor", "Sanity checks before training")
    data = to_jsonable(doctor.to_dict())
    rows = [(c["name"], c["status"].upper(), c["message"]) for c in data["checks"]]
    page.add(
        _table(
            ["check", "status", "finding"],
            rows,
            left=3,
            row_classes=[c["status"] for c in data["checks"]],
        )
    )
    fixes = [c for c in data["checks"] if c.get("fix") and c["status"] in ("warn", "fail")]
    if fixes:
        page.add(
            "<h3>Fixes</h3><ul>"
            + "".join(f"<li><b>{_e(c['name'])}</b>: {_e(c['fix'])}</li>" for c in fixes)
            + "</ul>"
        )
    ok = "All checks passed (warnings allowed)." if data["ok"] else "Some checks failed."
    page.add(f"<p><b>{ok}</b></p>")
    page.data["doctor"] = data
    page.end()
