"""The `touchpoint` command: check checklists, score an audit offline (and, later, serve)."""

import argparse
import os
import sys
from pathlib import Path

import msgspec

from server.checklists import ChecklistError, load_brands, parse_brand, parse_checklist
from server.scoring import AuditRefused, parse_answers, score_audit

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


def _checklists_default() -> Path:
    return Path(os.environ.get("TOUCHPOINT_CHECKLISTS", "checklists"))


def cmd_check(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else _checklists_default()
    try:
        brands = load_brands(root)
    except ChecklistError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} in {root}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for loaded in brands.values():
        counts = ", ".join(f"{t} ({len(c.checklist.items())} items, version {c.version})" for t, c in loaded.checklists.items())
        print(f"{loaded.brand.id}: ok: {counts}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    checklist_path = Path(args.checklist)
    brand_path = checklist_path.parent / "brand.yaml"
    try:
        brand = parse_brand(_read(brand_path), f"{checklist_path.parent.name}/brand.yaml")
        loaded = parse_checklist(_read(checklist_path), brand, checklist_path.name)
    except ChecklistError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        audit = msgspec.json.decode(_read(Path(args.audit)))
    except msgspec.DecodeError as exc:
        print(f"{args.audit}: not valid JSON: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not isinstance(audit, dict) or "answers" not in audit:
        print(f"{args.audit}: expected an audit object with an \"answers\" field", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = score_audit(brand, loaded, parse_answers(audit["answers"]))
    except AuditRefused as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_REFUSED
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(result)).decode() + "\n")
    return 0


class _Unreadable(Exception):
    pass


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _Unreadable(f"{path}: cannot read: {exc.strerror}") from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="touchpoint", description="Mystery-shopping audits scored against a brand promise.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate every brand and checklist under DIR")
    check.add_argument("dir", nargs="?", metavar="DIR", help="the checklists folder (default: $TOUCHPOINT_CHECKLISTS or ./checklists)")
    check.set_defaults(run=cmd_check)

    score = commands.add_parser("score", help="score one audit offline against a checklist")
    score.add_argument("checklist", metavar="CHECKLIST.yaml", help="the checklist; its brand is brand.yaml beside it")
    score.add_argument("audit", metavar="AUDIT.json", help="an audit as the API takes it; only its answers are read")
    score.set_defaults(run=cmd_score)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except _Unreadable as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
