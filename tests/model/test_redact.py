"""Personal data is masked in free text before it is written or hashed (SPEC §4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillkit.model.redact import Redactor
from tests.conftest import FAKE_NOW, Drill

MOBILE = "13812345678"
RESIDENT_ID = "11010519491231002X"  # checksum-valid
EMAIL = "zhang.wei@example.com"
IMSI = "460001234567890"


def test_note_is_masked_in_the_record_and_structured_fields_are_not(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    text = f"caller {MOBILE}, id {RESIDENT_ID}, mail {EMAIL}, imsi {IMSI}"
    drill("note", run, text, "--by", "bob", ok=True, DRILL_FAKE_NOW="2026-11-29T08:00:12.345Z")
    raw = drill.record(run).read_text(encoding="utf-8")
    for secret in (MOBILE, RESIDENT_ID, EMAIL, IMSI, "zhang.wei"):
        assert secret not in raw
    note = drill.events(run)[-1]
    assert note["text"] == "caller 138****5678, id 110105********002X, mail z***@example.com, imsi 46000******7890"
    assert (note["ts"], note["t"], note["run"], note["seq"]) == ("2026-11-29T08:00:12.345Z", 12.345, run, 2)
    assert len(note["hash"]) == 64
    assert note["prev"] == drill.events(run)[0]["hash"]


def test_an_id_number_with_a_bad_check_digit_is_masked_and_look_alikes_are_not(drill: Drill) -> None:
    """A mistyped ID number is still personal data; 18 digits without a region and birth date
    are not an ID number."""
    run = drill.open()
    mistyped, no_such_date = "110105194912310021", "110105194902300021"
    drill("note", run, f"caller id {mistyped}, ticket {no_such_date}", "--by", "bob", ok=True)
    assert drill.events(run)[-1]["text"] == f"caller id 110105********0021, ticket {no_such_date}"
    assert mistyped not in drill.record(run).read_text(encoding="utf-8")


def test_masking_covers_titles_reasons_and_check_notes(drill: Drill) -> None:
    run = drill.open("--title", f"outage reported by {MOBILE}")
    drill("check", run, "bridge", "--by", "alice", "--note", f"bridge host {EMAIL}", ok=True)
    drill("severity", run, "I", "--by", "alice", "--reason", f"VIP {RESIDENT_ID} affected", ok=True)
    drill("abort", run, "--by", "alice", "--reason", "call back +86 138-1234-5678", ok=True)
    raw = drill.record(run).read_text(encoding="utf-8")
    for secret in (MOBILE, RESIDENT_ID, EMAIL, "138-1234-5678"):
        assert secret not in raw
    events = drill.events(run)
    assert events[0]["title"] == "outage reported by 138****5678"
    assert events[0]["run"] == run  # the run id (digits and all) is untouched


def test_extra_patterns_from_drill_toml(workspace: Path) -> None:
    (workspace / "drill.toml").write_text('[redact]\npatterns = ["TICKET-[0-9]+"]\n', encoding="utf-8")
    drill = Drill(workspace)
    run = drill.open()
    drill("note", run, "see TICKET-4711", "--by", "bob", ok=True)
    assert drill.events(run)[-1]["text"] == "see ***********"


def test_a_long_lived_process_follows_drill_toml_as_it_comes_and_goes(drill: Drill) -> None:
    """The conductor appends for hours: a `drill.toml` written, changed or removed meanwhile
    applies from the next append on."""
    from drillkit.config.workspace import Workspace
    from drillkit.engine import decide
    from drillkit.model.clock import SystemClock
    from drillkit.services.runs import apply

    run, ws, toml = drill.open(), Workspace(drill.root), drill.root / "drill.toml"
    toml.unlink(missing_ok=True)

    def noted(text: str) -> str:
        (event,) = apply(ws, SystemClock(), run, lambda rs: decide.note(rs, text, "bob", None))
        return str(event["text"])

    assert noted("see TICKET-1") == "see TICKET-1"
    toml.write_text('[redact]\npatterns = ["TICKET-[0-9]+"]\n', encoding="utf-8")
    assert noted("see TICKET-2") == "see ********"
    toml.write_text('[redact]\npatterns = ["see"]\n', encoding="utf-8")
    assert noted("see TICKET-3") == "*** TICKET-3"
    toml.unlink()
    assert noted("see TICKET-4") == "see TICKET-4"
    written = [e["text"] for e in drill.events(run)[-4:]]
    assert written == ["see TICKET-1", "see ********", "*** TICKET-3", "see TICKET-4"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (MOBILE, "138****5678"),
        ("+8613812345678", "+86138****5678"),
        (RESIDENT_ID.lower(), "110105********002x"),
        (EMAIL, "z***@example.com"),
        (IMSI, "46000******7890"),
        ("490154203237518", "49015******7518"),  # Luhn-valid IMEI
    ],
)
def test_masks(text: str, masked: str) -> None:
    assert Redactor()(f"x {text} y") == f"x {masked} y"


@pytest.mark.parametrize(
    "text",
    [
        "110105194913310021",  # 18 digits, no month 13: not a resident ID
        "201105194912310021",  # 18 digits, no region 20: not a resident ID
        "202611290800001234",  # a timestamp's digits: not a resident ID
        "12812345678",  # not a mobile prefix
        "2026-11-29T08:00:00.000Z",
        "20261129T080000Z-core-network-outage-1a2b",
        "a" * 64,
        "490154203237519",  # 15 digits, neither IMSI nor Luhn-valid
        "call 1381234567",  # ten digits
    ],
)
def test_leaves_other_text_alone(text: str) -> None:
    assert Redactor()(text) == text


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("+86 138 1234 5678", "+86 138****5678"),
        ("电话13812345678请回电", "电话138****5678请回电"),
        ("IMEI 35-209900-176148-1", "IMEI 35209******1481"),
        ("commit ab13812345678cd0000", "commit ab13812345678cd0000"),
        ("ticket 35-209900-176148-2", "ticket 35-209900-176148-2"),
    ],
)
def test_masks_keep_their_context_and_leave_look_alikes(said: str, kept: str) -> None:
    assert Redactor()(said) == kept


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("１３８１２３４５６７８", "138****5678"),
        ("电话：１３８－１２３４－５６７８，请回电", "电话：138****5678，请回电"),
        ("＋８６　１３８　１２３４　５６７８", "+86 138****5678"),
        ("邮箱 ｚｈａｎｇ．ｗｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "邮箱 z***@example.com"),
        ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证110105********002X"),
        ("IMSI：４６０００１２３４５６７８９０", "IMSI：46000******7890"),
        ("故障：ＢＪ－３环网（Ａ）", "故障：ＢＪ－３环网（Ａ）"),  # nothing personal: left as written
        ("编号 ０１２３４５６７８９０", "编号 ０１２３４５６７８９０"),  # eleven digits, not a mobile
        ("１１０１０５１９４９１３３１００２１ 与 13812345678", "１１０１０５１９４９１３３１００２１ 与 138****5678"),
    ],
)
def test_full_width_forms_are_masked_as_their_ascii_twins(said: str, kept: str) -> None:
    """Chinese input methods type full-width digits, `＠` and `－`: personal data written so is
    masked all the same, and text around it stays as written."""
    assert Redactor()(said) == kept


def test_the_quick_pass_never_skips_text_a_mask_would_change() -> None:
    """Text without `@` or eleven digits skips the four masks; that must never hide a match."""
    from random import Random

    from drillkit.model import redact

    rng = Random(7)
    alphabet = "0123456789" * 4 + "--  ++@.xX/aZ٣０"
    masks = [pattern for pattern, _ in redact.builtin_masks()]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 30)))
        if "@" not in text and redact._ELEVEN_DIGITS.search(text) is None:
            assert not any(mask.search(text) for mask in masks), text
    assert Redactor()(f"call +86 138-1234-5678 or {IMSI}") == "call +86 138****5678 or 46000******7890"


def test_role_and_checklist_descriptions_in_the_embedded_playbook_are_masked(drill: Drill) -> None:
    path = drill.root / "playbooks" / "core-network-outage.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  noc: NOC engineer\n", f"  noc: NOC engineer, pager {MOBILE}\n", 1)
    text = text.replace("      bridge: ", f"      bridge: mail {EMAIL}; ", 1)
    path.write_text(text, encoding="utf-8")
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    raw = drill.record(run).read_text(encoding="utf-8")
    assert MOBILE not in raw
    assert EMAIL not in raw
    playbook = drill.events(run)[0]["playbook"]
    assert playbook["roles"]["noc"] == "NOC engineer, pager 138****5678"
    assert playbook["states"]["triage"]["checklist"]["bridge"].startswith("mail z***@example.com; ")
