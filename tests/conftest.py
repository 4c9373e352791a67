"""Shared fixtures: a small hand-made brand whose scores the tests work out by hand."""

import textwrap

import pytest

from server.checklists import parse_brand, parse_checklist

BRAND_YAML = """\
id: acme
name: Acme Stores
promise: Quick, kind and simple, every time.
pillars:
  - {id: fast, name: Fast, target: 85}
  - {id: friendly, name: Friendly, target: 90}
  - {id: easy, name: Easy, target: 80}
touchpoints: [visit, call]
"""

VISIT_YAML = """\
id: visit
title: Visit the shop
mode: in_person
sections:
  - id: a
    title: Arriving
    items:
      - {id: greet, text: Greeted?, type: yes_no, weight: 2, pillars: [friendly]}
      - id: wait
        text: Minutes waited
        type: number
        bands:
          - {at_most: 2, score: 1}
          - {at_least: 2, at_most: 5, score: 0.5}
        pillars: [fast]
      - {id: tidy, text: Tidy?, type: scale, min: 1, max: 5, pillars: [friendly, easy]}
  - id: b
    title: Leaving
    items:
      - {id: transferred, text: Passed on to someone else?, type: yes_no, pass: "no", pillars: [easy]}
      - id: explained
        text: Told why?
        type: yes_no
        show_if: {item: transferred, equals: "yes"}
        pillars: [friendly]
      - id: thanked_after
        text: Thanked after the hand-over?
        type: yes_no
        show_if: {item: explained, equals: "yes"}
      - {id: resolved, text: Sorted out?, type: yes_no, critical: true, weight: 3, pillars: [easy]}
      - id: channel
        text: Follow-up
        type: choice
        options:
          - {value: email, label: Email, score: 1}
          - {value: callback, label: Call back, score: 0.5}
          - {value: none, label: None}
      - id: mood
        text: Mood of the shop
        type: choice
        options:
          - {value: calm, label: Calm}
          - {value: busy, label: Busy}
      - {id: notes, text: Notes, type: text, required: false}
      - {id: sms, text: Text message arrived?, type: yes_no, na: true, photo: required}
"""


@pytest.fixture
def brand():
    return parse_brand(BRAND_YAML.encode())


@pytest.fixture
def visit(brand):
    return parse_checklist(VISIT_YAML.encode(), brand, "visit.yaml")


def write_brand(root, files: dict[str, str], folder: str = "acme"):
    """Write a brand folder under `root` from {file name: YAML text}; returns the folder."""
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(textwrap.dedent(text))
    return path
