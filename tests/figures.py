"""Figures the proofs gather as they run (fuzz cases, crash rounds, the access matrix's size),
printed at the end of the test run by conftest.pytest_terminal_summary."""

FIGURES: dict[str, str] = {}
