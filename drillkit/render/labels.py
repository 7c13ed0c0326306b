"""Headings and labels of exports and reports in English and Chinese (`--lang en|zh`).

Ids from the plans (states, roles, items) are shown as written; only the words around them
are translated. The drill mark `DRILL / 演练` is bilingual in both languages.
"""

from __future__ import annotations

import re

from drillkit.engine.reasons import Why
from drillkit.model.errors import UsageError
from drillkit.model.events import EventType

LANGS = ("en", "zh")
DRILL_MARK = "DRILL / 演练"


def is_drill_mode(mode: str | None) -> bool:
    return mode in ("drill", "simulation")


def drill_mark(mode: str | None) -> str:
    """`[DRILL / 演练] ` for drills and simulations, nothing for incidents: whatever shows a
    drill (a message, a board, an export, a status line) says so before anything else."""
    return f"[{DRILL_MARK}] " if is_drill_mode(mode) else ""


_TEXT: dict[str, tuple[str, str]] = {
    # report titles and sections
    "report.incident": ("Post-incident report", "事件复盘报告"),
    "report.drill": ("After-action report", "演练总结报告"),
    "overview": ("Overview", "基本概要"),
    "metrics": ("Response-time metrics", "响应时长指标"),
    "state_times": ("Time in each state", "各状态停留时长"),
    "expectations": ("Inject expectations", "情景注入与预期处置"),
    "timeline": ("Timeline", "时间线"),
    "accountability": ("Accountability", "责任认定（追责）"),
    "checklist": ("Checklist", "检查清单"),
    "notes": ("Notes", "备注"),
    "beside": ("The real incident beside the drill", "真实事件与本次演练对比"),
    "source_incident": ("Source incident", "来源事件"),
    "source_missing": (
        "{run} is not in this workspace: no real times to compare",
        "来源事件 {run} 不在本工作区，无法对比真实用时",
    ),
    "real": ("real", "真实"),
    "real_vs_drill": ("Real / drill", "真实 / 演练"),
    "integrity": ("Integrity", "记录完整性"),
    # the evaluation of a drill (SPEC §10)
    "executive_summary": ("Executive summary", "评估结论摘要"),
    "analysis": ("Analysis of objectives and capabilities", "演练目标评估"),
    "score_and_grade": ("Score and grade, and how they were made", "评分与等级及其计算"),
    "strengths": ("Strengths", "经验教训：做得好的方面"),
    "improvements": ("Areas for improvement", "发现的问题"),
    "feedback": ("Participant feedback", "参演人员反馈"),
    "improvement_plan": ("Improvement plan", "工作建议与整改计划"),
    "evaluators": ("Evaluators", "评估人员"),
    "evaluator": ("Evaluator", "评估人员"),
    "score": ("Score", "得分"),
    "grade": ("Grade", "等级"),
    "objectives_rated": ("Objectives rated", "已评估目标"),
    "objective": ("Objective", "演练目标"),
    "capability": ("Capability", "能力"),
    "criteria": ("Criteria", "评估标准"),
    "weight": ("Weight", "权重"),
    "evidence": ("Evidence (automatic verdicts)", "客观证据（自动结论）"),
    "evidence_rating": ("Evidence rating", "证据评级"),
    "ratings": ("Evaluators' ratings", "评估人员评级"),
    "points": ("Points", "分值"),
    "how": ("How", "计算方法"),
    "from_evidence": ("no evaluator rated it, from its evidence", "无评估人员评级，按客观证据"),
    "points_per_rating": ("Points per rating", "各评级分值"),
    "grade_thresholds": ("Grade thresholds", "等级划分"),
    "else": ("else", "否则"),
    "rule": ("Rule", "规则"),
    "scoring_rule": (
        "an objective scores the mean of its evaluators' latest ratings, else its evidence "
        "(all met P, some late S, some missed M, all missed U); the score is the weighted mean",
        "各目标取评估人员最新评级的平均分，无评级时按客观证据"
        "（全部达标 P，有迟到 S，有未达标 M，全部未达标 U）；总分为加权平均",
    ),
    "grade.优秀": ("excellent", "优秀"),
    "grade.良好": ("good", "良好"),
    "grade.合格": ("satisfactory", "合格"),
    "grade.不合格": ("unsatisfactory", "不合格"),
    "action": ("Action", "整改项"),
    "corrective_action": ("Issue / corrective action", "问题 / 整改措施"),
    "status": ("Status", "状态"),
    "no_action": ("no action yet", "尚未立项"),
    "status.open": ("open", "待整改"),
    "status.in-progress": ("in progress", "整改中"),
    "status.closed": ("closed (retest passed)", "已关闭（复演通过）"),
    "chart": ("States over the drill clock", "状态随演练时钟的变化"),
    "chart.incident": ("States over the incident clock", "状态随事件时钟的变化"),
    # run facts
    "run": ("Run", "运行编号"),
    "playbook": ("Playbook", "应急预案"),
    "version": ("version", "版本"),
    "mode": ("Mode", "类型"),
    "scenario": ("Scenario", "演练场景"),
    "title": ("Title", "标题"),
    "severity": ("Severity", "事件级别"),
    "people": ("People by role", "人员及角色"),
    "started": ("Started", "开始时间"),
    "ended": ("Ended", "结束时间"),
    "outcome": ("Outcome", "结果"),
    "state": ("State", "状态"),
    # table columns
    "metric": ("Metric", "指标"),
    "from": ("From", "起点"),
    "to": ("To", "终点"),
    "owner": ("Owner role", "责任角色"),
    "target": ("Target", "目标"),
    "actual": ("Actual", "实际"),
    "verdict": ("Verdict", "结论"),
    "inject": ("Inject", "情景注入"),
    "expected": ("Expected response", "预期处置"),
    "within": ("Within", "时限"),
    "role": ("Role", "角色"),
    "due": ("Due", "截止"),
    "done_at": ("Done at", "完成于"),
    "by": ("By", "执行人"),
    "what": ("What", "事项"),
    "person": ("Person", "责任人"),
    "late_by": ("Late by", "超时"),
    "why": ("Why", "原因"),
    "item": ("Item", "检查项"),
    "time": ("Time", "时间"),
    "clock": ("Drill clock", "演练时钟"),
    "clock.incident": ("Incident clock", "事件时钟"),
    "event": ("Event", "事件"),
    "actor": ("Actor", "执行人"),
    "detail": ("Detail", "详情"),
    "duration": ("Duration", "时长"),
    "deadline": ("deadline", "时限"),
    "breach": ("breach", "超时"),
    "injected": ("inject", "情景注入"),
    # values
    "met": ("met", "达标"),
    "missed": ("missed", "未达标"),
    "late": ("late", "迟到"),
    "pending": ("pending", "进行中"),
    "unmeasured": ("no target", "未设目标"),
    "void": ("void", "不计"),
    "resolved": ("resolved", "已解决"),
    "aborted": ("aborted", "已中止"),
    "timed-out": ("timed out", "超时结束"),
    "open": ("open", "未结束"),
    "incident": ("incident", "事件"),
    "drill": ("drill", "演练"),
    "simulation": ("simulation", "模拟演练"),
    "none": ("(none)", "（无）"),
    "done": ("done", "已完成"),
    "not_done": ("not done", "未完成"),
    # integrity footer
    "integrity.ok": ("Record verified: intact and ended", "记录完整性已校验：完整，已结束"),
    "integrity.open": ("Record verified: intact, still open", "记录完整性已校验：完整，尚未结束"),
    "integrity.tampered": ("Record NOT verified: tampered", "记录完整性校验失败：已被篡改"),
    "integrity.unkeyed": (
        "Record NOT verified: unkeyed (chained without the workspace key)",
        "记录完整性未校验：未使用工作区密钥（unkeyed）",
    ),
    "integrity.unknown": ("Record not verified", "记录未校验"),
    "events": ("events", "条事件"),
    "head": ("head hash", "末行哈希"),
    "integrity.unsealed": ("Record intact but NOT sealed", "记录完整，但未签封"),
    "seal": ("final seal", "最终签封"),
    "unsealed_tail": ("events past the seal", "条事件在签封之后"),
    # drill status: whole lines, with the values put in their places
    "unassigned": ("unassigned", "未指派"),
    "status.severity": (
        "  severity {severity}   state {state} (owner {owner}: {assignee}) for {duration}",
        "  级别 {severity}   状态 {state}（责任角色 {owner}：{assignee}）已持续 {duration}",
    ),
    "status.started": ("  started {started}   clock {clock}", "  开始于 {started}   {clock_label} {clock}"),
    "status.speed": ("   speed x{speed}", "   速度 x{speed}"),
    "status.ended": ("  ended: {outcome}", "  已结束：{outcome}"),
    "status.allowed": ("  allowed for {role}: {triggers}", "  {role} 现可执行：{triggers}"),
    "status.allowed_any": ("  allowed without a role: {triggers}", "  无需角色即可执行：{triggers}"),
    "status.open_items": ("  open checklist items: {items}", "  未完成的检查项：{items}"),
    "status.deadline": ("  deadline {what} at {due} ({when})", "  时限 {what} 于 {due}（{when}）"),
    "status.in": ("in {left}", "还剩 {left}"),
    "status.overdue": ("overdue by {left}", "已超时 {left}"),
    "status.expect": ("  expect {text}", "  预期处置 {text}"),
    "status.breach": (
        "  BREACH {what} due {due}, owner {owner} ({assignee})",
        "  超时 {what} 截止 {due}，责任角色 {owner}（{assignee}）",
    ),
    "expect.due": ("[{inject}] {expect}{role} due {due}", "[{inject}] {expect}{role} 截止 {due}"),
    "expect.done": (": {verdict} at {at} by {by}", "：{verdict}，{by} 于 {at} 完成"),
    "expect.judged": (": {verdict}", "：{verdict}"),
    "expect.coming": (": inject at {at}", "：情景注入于 {at}"),
    "expect.overdue": (": overdue by {left}", "：已超时 {left}"),
    "expect.left": (": in {left}", "：还剩 {left}"),
    "no_open_runs": ("no open runs", "没有未结束的运行"),
    # drill report (figures across runs)
    "figures": ("Figures across runs", "跨运行统计"),
    "overall": ("All playbooks", "全部预案"),
    "runs_by_mode": ("Runs by mode", "按类型的运行数"),
    "runs": ("Runs", "运行数"),
    "measured": ("Measured", "已测"),
    "median": ("Median", "中位数"),
    "p90": ("p90", "90 分位"),
    "share_met": ("Targets met", "达标率"),
    "breaches_by_owner": ("Breaches by owner role", "按责任角色的超时"),
    "count": ("Count", "次数"),
    "expectation_verdicts": ("Expectation verdicts", "预期处置结论"),
    "period": ("Period", "统计区间"),
    "drills_included": ("drills and simulations included", "含演练与模拟演练"),
    "incidents_only": ("incidents only", "仅事件"),
    "no_runs": ("No runs match.", "没有符合条件的运行。"),
    "corrective_actions": ("Corrective actions", "整改项"),
    "actions_opened": ("Opened", "新开"),
    "actions_closed": ("Closed", "已关闭"),
    "actions_overdue": ("Overdue", "逾期"),
    "actions_note": (
        "Opened and closed within the period; overdue: not closed at its end and due before {day} (UTC).",
        "新开、已关闭：统计区间内；逾期：区间结束时仍未关闭且整改期限早于 {day}（UTC）。",
    ),
    "left_out": (
        "record(s) left out: not readable as runs (`drill verify --all` names a damaged line,"
        " `drill status RUN` one that cannot be replayed)",
        "条记录无法作为运行读取，未计入（`drill verify --all` 指出损坏的行，`drill status RUN` 指出无法重放的行）",
    ),
}


# Event types as a reader sees them: English keeps the record's own names.
_EVENTS_ZH: dict[str, str] = {
    EventType.RUN_STARTED: "开始",
    EventType.INJECT_DELIVERED: "情景注入",
    EventType.TRANSITION: "状态转换",
    EventType.CHECK_DONE: "检查项完成",
    EventType.NOTE: "备注",
    EventType.ASSIGNED: "角色指派",
    EventType.SEVERITY_CHANGED: "级别变更",
    EventType.DEADLINE_BREACHED: "超时",
    EventType.NOTIFY_SENT: "通知已送达",
    EventType.NOTIFY_FAILED: "通知失败",
    EventType.RECORD_REPAIRED: "记录修复",
    EventType.RUN_ENDED: "结束",
    EventType.OBSERVATION: "观察记录",
    EventType.FEEDBACK: "反馈",
    EventType.ANNOTATION: "批注",
}


# The forms that name a thing of the plan (`state:发现`, `check:上报监管`, a metric's `start`):
# the kind is translated, the id after it stays as written.
_KINDS_ZH = {"state": "状态", "metric": "指标", "inject": "情景注入", "trigger": "动作", "check": "检查项"}
_WORDS_ZH = {"start": "开始", "time_limit": "总时限"}
_ACTORS_ZH = {"system": "系统", "simulation": "模拟"}  # drillkit itself, and a simulation's script
_KIND = re.compile(r"\b(state|metric|inject|trigger|check):")
_PLAN_VALUES = frozenset({"to", "source", "action", "state"})  # the parts of a reason that name the plan's things


# The reasons of verdicts (`engine/reasons.py` has the English of each key) in Chinese.
_WHY_ZH: dict[str, str] = {
    "no_target": "{severity} 级未设目标",
    "reached": "{by} 于 {at} 达到 {to}，时限 {due}",
    "not_reached": "截止 {due} 未达到 {to}",
    "resolved_without": "运行于 {end} 解决，未达到 {to}",
    "not_yet": "尚未达到 {to}，时限 {due}",
    "not_started": "尚未进入 {source}",
    "void_before_due": "运行于 {end} {outcome}，其时尚未达到 {to}，也未到时限（{due}）",
    "void_not_started": "运行于 {end} {outcome}，其时尚未进入 {source}",
    "done": "{by} 于 {at} 完成 {action}，时限 {due}",
    "done_before": "{by} 已于情景注入之前（{at}）完成 {action}",
    "no_longer_held": "{by} 于 {at} 完成 {action}，但其时已不担任 {role}（{since} 起由 {holder} 担任）",
    "never_held": "{by} 于 {at} 完成 {action}，但其并不担任 {role}",
    "other_role": "{by} 于 {at} 以 {acted} 身份完成 {action}，而非 {role}",
    "not_done": "截止 {due} 未完成 {action}",
    "resolved_without_action": "运行于 {end} 解决，未完成 {action}",
    "awaited": "{action} 时限 {due}",
    "void_not_due": "运行于 {end} {outcome}，其时 {action} 尚未到时限（{due}）",
    "void_undelivered": "运行于 {end} {outcome}，早于 {inject_at} 的情景注入",
    "left": "{by} 于 {at} 离开 {state}",
    "escalated": "{at} 因超时自动升级（无人处置）",
    "stayed": "始终未离开 {state}：运行于 {end} {outcome}",
    "still_in": "仍处于 {state}",
    "never_reached": "始终未达到 {to}：运行于 {end} {outcome}",
}


class Labels:
    """`labels("metrics")` gives the heading in the chosen language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise UsageError(f"--lang {lang!r}: use one of {', '.join(LANGS)}")
        self.lang = lang
        self._index = LANGS.index(lang)

    def __call__(self, key: str) -> str:
        return _TEXT[key][self._index]

    def event(self, kind: str) -> str:
        """An event type in the chosen language (English: as the record names it)."""
        return _EVENTS_ZH.get(kind, kind) if self.lang == "zh" else kind

    def clock(self, mode: str | None, key: str = "clock") -> str:
        """The clock's label: the drill clock for drills and simulations, the incident's own otherwise."""
        return self(key) if is_drill_mode(mode) else self(f"{key}.incident")

    def what(self, text: str) -> str:
        """A thing of the plan named by kind and id (`state:triage`, `inject:x trigger:y`, `start`,
        `time_limit`), its kind in the chosen language."""
        if self.lang != "zh":
            return text
        if text in _WORDS_ZH:
            return _WORDS_ZH[text]
        return _KIND.sub(lambda found: f"{_KINDS_ZH[found.group(1)]}:", text)

    def actor(self, name: str) -> str:
        """Who acted: drillkit itself (`system`, `simulation`) in the chosen language; people as named."""
        return _ACTORS_ZH.get(name, name) if self.lang == "zh" else name

    def why(self, reason: str, *, verdict: bool = True) -> str:
        """A verdict's reason in the chosen language; `verdict=False` leaves out the verdict word
        (for a table that shows it in a column of its own)."""
        if not isinstance(reason, Why):
            return reason
        if self.lang == "en":
            clause = reason.clause
        else:
            values = {key: self.what(value) if key in _PLAN_VALUES else value for key, value in reason.values.items()}
            values["outcome"] = self.value(reason.values.get("outcome"))
            clause = _WHY_ZH[reason.key].format(**values)
        if not verdict or reason.verdict is None:
            return clause
        return f"{self.value(reason.verdict)}{': ' if self.lang == 'en' else '：'}{clause}"

    def value(self, word: str | None) -> str:
        """A verdict, outcome or mode in the chosen language (unknown words as they are)."""
        if word is None:
            return self("open")
        pair = _TEXT.get(word)
        return pair[self._index] if pair else word
