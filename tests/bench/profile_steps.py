"""Sum py-spy's collapsed stacks (bench_ingest.py with BENCH_PROFILE) per step of an audit's way in.

Run: python tests/bench/profile_steps.py <folder>   (the folder BENCH_PROFILE named)
Each sample goes to the innermost step its stack passes through; samples of a thread waiting (the
event loop's select, an idle pool thread) are left out, so the shares are of the time the process works.
"""

import collections
import sys
from pathlib import Path

IDLE = ("_worker (concurrent/futures/thread.py:81)", "Runner.run (asyncio/runners.py:118)", "Condition.wait", "Event.wait",
        "wait (multiprocessing/connection.py", "select (selectors.py", "_serve (server/audits/ingest.py:191)")
# (step, markers): a sample is in the first step, walking from its innermost frame outwards, that names one of its frames
SERVER = [
    ("auth (token -> user)", ("authenticate_request",)),
    ("guards (litestar runs sync guards in a thread)", ("authorize_connection",)),
    ("retry check (existing)", ("existing (server/audits/audits.py",)),
    ("limits", ("problems (server/limits.py",)),
    ("scoring", ("score_audit",)),
    ("prepare (content hash, comment prints)", ("prepare (server/audits/audits.py",)),
    ("hand-off to the writer (encode Job, pipe)", ("Writer.store", "Writer._read", "_settle")),
    ("answer: encode AuditOut, send", ("encode_json", "ASGIResponse", "wrapped_send", "RequestResponseCycle.send")),
    ("decode + validate AuditIn, other kwargs", ("parse_values_from_connection_kwargs", "decode_json", "resolve_dependencies", "get_request_data")),
    ("handler, other (location, catalog)", ("submit (server/audits/api.py",)),
    ("HTTP parsing (h11)", ("h11_impl.py",)),
    ("litestar routing, middleware", ("litestar/",)),
]
def _commit_line() -> str:
    """The frame of the writer's COMMIT, by its line in the server package on the path (run with
    PYTHONPATH=<the tree profiled> for an older commit)."""
    import server.audits.ingest as ingest

    lines = Path(ingest.__file__).read_text().splitlines()
    commit = next(n for n, line in enumerate(lines, 1) if 'db.execute("COMMIT")' in line)
    return f"_commit (server/audits/ingest.py:{commit})"


WRITER = [
    ("COMMIT (fsync)", (_commit_line(),)),
    ("answers, sections, pillars", ("_store_children",)),
    ("rollups", ("_roll_up ",)),
    ("item rollups", ("_roll_up_items",)),
    ("audit row", ("_insert_audit",)),
    ("reactions (history, flags, actions, webhooks)", ("publish (server/reactions.py",)),
    ("store, other", ("store (server/audits/audits.py",)),
    ("savepoints, batch", ("_commit (server/audits/ingest.py",)),
    ("decode Job", ("_serve.<locals>.<listcomp>", "_jobs (server/audits/ingest.py")),
    ("checkpoint thread", ("_checkpoint", "bound_wal")),
    ("pipe, encode Done", ("_serve (server/audits/ingest.py", "_answer", "connection.py")),
]


def steps(path: Path, table) -> tuple[collections.Counter, int]:
    found, total = collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        if any(frames[-1].startswith(idle) for idle in IDLE) or ("Writer._read" in stack and "Connection._recv" in frames[-1]):
            continue  # the event loop's select, an idle pool thread, the thread that waits for the writer's answers
        total += int(count)
        for frame in reversed(frames):
            step = next((name for name, markers in table if any(m in frame for m in markers)), None)
            if step:
                break
        found[step or "other"] += int(count)
    return found, total


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    for name, table in (("server", SERVER), ("writer", WRITER)):
        found, total = steps(folder / f"{name}.txt", table)
        print(f"{name}: {total} samples at work")
        for step, count in found.most_common():
            print(f"  {100 * count / total:5.1f} %  {step}")
