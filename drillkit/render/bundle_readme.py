"""VERIFY.md: how to check an evidence bundle, in English and Chinese."""

from __future__ import annotations

TEMPLATE = """\
# Evidence bundle of run {run} / 运行 {run} 的证据包

## English

This bundle lets you check, offline and without drillkit, that the record of run `{run}` is
complete and unaltered. It holds the record (`{run}.jsonl`), its seals (`{run}.seals`, signed
notes), the workspace's public key (`public_key.txt`), the latest signed ledger checkpoint
(`checkpoint`), the ledger that checkpoint signs (`ledger`), the inclusion proof of the run's
latest seal (`proof.json`) and a verifier that needs only Python 3.11+ (`verify_bundle.py`).

    python3 verify_bundle.py THIS.zip            # or the folder it was unpacked into
    python3 verify_bundle.py THIS.zip --strict   # also fail when events are unsealed

It prints one line: `ok` / `open` (intact; ended or not), `ok, N events unsealed`,
`unsealed`, or `tampered` with what was found; exit 0, or 1 for `tampered` (and, with
`--strict`, for unsealed events).

Check the public key and the final seal's fingerprint against copies kept elsewhere: the
key was published as `{public_key}`; the final seal's fingerprint is `{seal}` (it is printed
on the after-action report and sent with the run's end notification). A bundle verifies only
against the key in it: what you compare it with is what makes it evidence.

## 中文

本证据包可在离线、无需安装 drillkit 的情况下，核验运行 `{run}` 的记录完整且未被篡改。
包内有：记录（`{run}.jsonl`）、签封（`{run}.seals`，签名文本）、工作区公钥（`public_key.txt`）、
最新的签名账本检查点（`checkpoint`）及其所签的账本（`ledger`）、该运行最新签封的包含证明
（`proof.json`），以及只需 Python 3.11 以上版本的核验程序（`verify_bundle.py`）。

    python3 verify_bundle.py 本文件.zip            # 或解压后的文件夹
    python3 verify_bundle.py 本文件.zip --strict   # 有未签封事件时也判为失败

程序输出一行结论：`ok` / `open`（完整；已结束或未结束）、`ok, N events unsealed`（签封之后另有 N 条事件）、
`unsealed`（未签封），或 `tampered`（已被篡改，并说明发现了什么）；退出码 0，`tampered` 为 1
（加 `--strict` 时，存在未签封事件也为 1）。

请将公钥和最终签封指纹与别处保存的副本比对：公钥为 `{public_key}`；最终签封指纹为 `{seal}`
（印在事后评估报告上，并随运行结束通知发出）。证据包只能用包内的公钥核验，
与外部副本的比对才使其成为证据。
"""


def verify_md(run: str, public_key: str, seal: str | None) -> str:
    return TEMPLATE.format(run=run, public_key=public_key, seal=seal or "— (unsealed / 未签封)")
