#!/usr/bin/env python3
"""Run xcrash on a dump with the commands of recorded crash outputs and show the differences.

Each reference file is crash's output of one command, its first line `crash> CMD`
(the layout of ../shared/dumps/*/crash-ref/<dump>/NN-name.txt and tests/crash-ref/); a file
without that line is skipped and counted.  For each file, xcrash runs CMD on the same dump in
one session and the two texts are compared.

    .venv/bin/python tools/compare_crash.py VMCORE SYMBOL-FILE... --refs DIR [--only TEXT] [-q]

Exit status: 0 when every command's output is identical, 1 when one differs, 2 when no file
of DIR named a command.  Not a test: a way for anyone to re-check what matches crash and see
what does not.
"""
from __future__ import annotations

import argparse
import difflib
import io
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vmcore", metavar="VMCORE")
    ap.add_argument("symbols", nargs="+", metavar="SYMBOL-FILE")
    ap.add_argument("--refs", required=True, metavar="DIR", help="directory of NN-name.txt crash outputs")
    ap.add_argument("--only", metavar="TEXT", help="only reference files whose name contains this")
    ap.add_argument("-q", "--quiet", action="store_true", help="one line per command, no diffs")
    return ap


def main() -> int:
    args = parser().parse_args()

    import xcrash
    from xcrash.engine.runner import Runner

    session = xcrash.open(args.vmcore, *args.symbols)
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    same = differ = skipped = 0
    for ref in sorted(Path(args.refs).glob("*.txt")):
        if args.only and args.only not in ref.name:
            continue
        lines = ref.read_text(errors="replace").splitlines()
        if not lines or not lines[0].startswith("crash> "):
            skipped += 1
            continue
        command = lines[0][len("crash> "):]
        want = "\n".join(lines[1:]).rstrip("\n")
        out.seek(0), out.truncate(), err.seek(0), err.truncate()
        runner.execute(command)
        got = (out.getvalue() + err.getvalue()).rstrip("\n")
        if got == want:
            same += 1
            print(f"same     {command}")
            continue
        differ += 1
        diff = list(difflib.unified_diff(want.splitlines(), got.splitlines(), "crash", "xcrash",
                                         lineterm="", n=1))
        print(f"DIFFERS  {command}  ({sum(1 for d in diff if d[:1] in '+-') - 2} lines)")
        if not args.quiet:
            for line in diff[:40]:
                print("    " + line)
            if len(diff) > 40:
                print(f"    ... {len(diff) - 40} more diff lines")
    print(f"{same} identical, {differ} different"
          + (f", {skipped} files skipped (no `crash> CMD` first line)" if skipped else ""))
    if same + differ == 0:
        return 2
    return 0 if differ == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
