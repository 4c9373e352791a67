"""Benchmark: engine time to score one audit of 200 items (prints figures; not a test).

Run: python tests/bench/bench_scoring.py
"""

import platform
import statistics
import time

from server.checklists import parse_brand, parse_checklist
from server.checklists.scoring import Answer, score_audit

BRAND = b"""\
id: bench
name: Bench
promise: Fast scoring.
pillars:
  - {id: fast, name: Fast, target: 85}
  - {id: friendly, name: Friendly, target: 90}
  - {id: easy, name: Easy, target: 85}
touchpoints: [big]
"""

KINDS = [
    ("{type: yes_no, pillars: [friendly]}", "yes"),
    ("{type: yes_no, pass: 'no', pillars: [easy], critical: true}", "no"),
    ("{type: scale, min: 1, max: 5, pillars: [friendly, easy]}", 4),
    ("{type: number, bands: [{at_most: 3, score: 1}, {at_most: 5, score: 0.5}, {score: 0}], pillars: [fast]}", 4),
    ("{type: timer, bands: [{at_most: 60, score: 1}, {at_least: 60, at_most: 180, score: 0.5}], pillars: [fast]}", 95.5),
    ("{type: choice, options: [{value: a, label: A, score: 1}, {value: b, label: B, score: 0}]}", "a"),
    ("{type: yes_no, na: true, photo: required}", "yes"),
    ("{type: text, required: false}", "fine"),
]


def big_checklist(items: int = 200):
    lines = ["id: big", "title: Big", "mode: in_person", "sections:"]
    answers = {}
    for s in range(items // 20):
        lines += [f"  - id: s{s}", f"    title: Section {s}", "    items:"]
        for i in range(20):
            n = s * 20 + i
            spec, value = KINDS[n % len(KINDS)]
            extra = f", show_if: {{item: q{n - 1}, equals: 'yes'}}" if n % 25 == 24 and KINDS[(n - 1) % len(KINDS)][1] == "yes" else ""
            lines.append(f"      - {{id: q{n}, text: Question {n}{extra}, {spec[1:-1]}}}")
            answers[f"q{n}"] = Answer(value=value, photos=["p"] if "photo" in spec else [])
    return "\n".join(lines).encode() + b"\n", answers


def main() -> None:
    brand = parse_brand(BRAND)
    source, answers = big_checklist()
    loaded = parse_checklist(source, brand, "big.yaml")
    assert len(loaded.checklist.items()) == 200
    result = score_audit(brand, loaded, answers)
    for _ in range(200):  # warm up
        score_audit(brand, loaded, answers)
    rounds, per_round = 30, 200
    timings = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(per_round):
            score_audit(brand, loaded, answers)
        timings.append((time.perf_counter_ns() - start) / per_round / 1000)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"score_audit, 200 items ({result.possible:g} points possible, score {result.score:.1f}):")
    print(f"  median {statistics.median(timings):.1f} us, best {min(timings):.1f} us, worst {max(timings):.1f} us per audit ({rounds} rounds x {per_round})")
    start = time.perf_counter_ns()
    parse_checklist(source, brand, "big.yaml")
    print(f"  (parsing and checking the 200-item checklist once: {(time.perf_counter_ns() - start) / 1e6:.1f} ms)")


if __name__ == "__main__":
    main()
