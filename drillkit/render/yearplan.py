"""The year's exercise plan (年度演练计划, GB/T 38645): one row per schedule, in Markdown or CSV.

Columns as the standard's plan table has them: 序号, 演练项目, 目的/要求, 演练方式, 演练时间,
参演机构或部门 (here the roles and people), and the 应急预案 drilled.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from drillkit.render.csvout import BOM
from drillkit.render.markdown import table

COLUMNS = [
    "序号 No.",
    "演练项目 Item",
    "目的/要求 Purpose",
    "演练方式 Form",
    "演练时间 Time",
    "参演人员 Participants",
    "应急预案 Playbook",
]
FORMS = {
    "tabletop": "桌面推演 / tabletop",
    "functional": "实操演练 / functional",
    "full-scale": "示范演练 / full-scale",
}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, kw_only=True)
class PlanItem:
    title: str
    purpose: list[str]
    form: str
    times: list[str]  # each fire in the year, local to its schedule: "2027-03-01 09:00 Asia/Shanghai"
    participants: dict[str, str]
    playbook: str


def rows(items: list[PlanItem]) -> list[list[str]]:
    return [
        [
            str(number),
            item.title,
            "; ".join(item.purpose) or "-",
            FORMS.get(item.form, item.form),
            "; ".join(item.times),
            ", ".join(f"{role}: {person}" for role, person in item.participants.items()) or "-",
            item.playbook,
        ]
        for number, item in enumerate(items, start=1)
    ]


def markdown(year: int, items: list[PlanItem]) -> str:
    heading = f"# {year} 年度演练计划 / Exercise plan {year}\n\n"
    if not items:
        return heading + "（无计划的演练）/ (no scheduled drills)\n"
    return heading + table(COLUMNS, rows(items)) + "\n"


def csv_text(items: list[PlanItem], *, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([[_inert(cell) for cell in row] for row in rows(items)])
    return (BOM if bom else "") + out.getvalue()


def _inert(cell: str) -> str:
    """A cell a spreadsheet would run as a formula starts with `'`."""
    return f"'{cell}" if cell.startswith(_FORMULA) else cell
