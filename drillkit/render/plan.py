"""A playbook drawn as text, Mermaid `stateDiagram-v2`, Graphviz dot, or JSON."""

from __future__ import annotations

from typing import Any

from drillkit.model.durations import format_duration
from drillkit.model.plans import Playbook


def as_json(pb: Playbook) -> dict[str, Any]:
    return pb.data()


def _per_severity(values: dict[str, int] | None) -> str:
    if not values:
        return "-"
    if list(values) == ["default"]:
        return format_duration(values["default"])
    return ", ".join(f"{k}: {format_duration(v)}" for k, v in values.items())


def as_text(pb: Playbook) -> str:
    lines = [f"{pb.playbook} v{pb.version} — {pb.title} ({pb.kind})", "", "Severities:"]
    lines += [f"  {sid}  {sev.label}" for sid, sev in pb.severities.items()]
    lines += ["", "Roles:"] + [f"  {rid}  {text}" for rid, text in pb.roles.items()]
    lines += ["", "States:"]
    for name, state in pb.states.items():
        marks = " [initial]" if state.initial else " [final]" if state.final else ""
        lines.append(
            f"  {name}{marks}  owner: {state.owner or '-'}  deadline: {_per_severity(state.deadline)}"
            + (f"  on_deadline: {state.on_deadline}" if state.on_deadline else "")
        )
        lines += [f"    [ ] {item}: {text}" for item, text in state.checklist.items()]
    lines += ["", "Transitions:"]
    for tr in pb.transitions:
        extra = f"  roles: {', '.join(tr.roles)}" if tr.roles else ""
        extra += f"  requires: {', '.join(tr.requires)}" if tr.requires else ""
        lines.append(f"  {tr.trigger}: {', '.join(tr.source)} -> {tr.to}{extra}")
    if pb.metrics:
        lines += ["", "Metrics:"]
        for name, metric in pb.metrics.items():
            lines.append(
                f"  {name}: {metric.source} -> {metric.to}  target: {_per_severity(metric.target)}"
                f"  owner: {metric.owner or '-'}"
            )
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    """Labels may hold any script; quotes and colons would end them early."""
    return text.replace('"', "'").replace(":", "：").replace(";", "；")


def as_mermaid(pb: Playbook) -> str:
    ids = {name: f"s{index}" for index, name in enumerate(pb.states)}
    lines = ["stateDiagram-v2"]
    for name, state in pb.states.items():
        label = name + (f" ({state.owner})" if state.owner else "")
        lines.append(f'    state "{_mermaid_text(label)}" as {ids[name]}')
    lines.append(f"    [*] --> {ids[pb.initial_state]}")
    for tr in pb.transitions:
        for source in tr.source:
            lines.append(f"    {ids[source]} --> {ids[tr.to]} : {_mermaid_text(tr.trigger)}")
    for name, state in pb.states.items():
        if state.final:
            lines.append(f"    {ids[name]} --> [*]")
    return "\n".join(lines)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_dot(pb: Playbook) -> str:
    lines = [
        f"digraph {_dot_quote(pb.playbook)} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="sans-serif"];',
    ]
    for name, state in pb.states.items():
        shape = ", peripheries=2" if state.final else ', style="rounded,bold"' if state.initial else ""
        label = name + (f"\\n({state.owner})" if state.owner else "")
        lines.append(f'    {_dot_quote(name)} [label="{label.replace(chr(34), "")}"{shape}];')
    for tr in pb.transitions:
        for source in tr.source:
            lines.append(f"    {_dot_quote(source)} -> {_dot_quote(tr.to)} [label={_dot_quote(tr.trigger)}];")
    lines.append("}")
    return "\n".join(lines)
