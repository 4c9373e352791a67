"""The few things SQLite and PostgreSQL say differently, in one place (issue 28).

Every other statement is written once, in the SQL both accept (README, "One SQL for both
engines"). What is left is here: JSON held as text and read in SQL, a string aggregate, a pattern
test, a substring test, and SQLite's planner hints, which PostgreSQL neither needs nor accepts.
A statement asks `of(db)` for its connection's dialect and puts the fragment in its text; the
fragments are plain text, so a statement stays one string a reader (and tests/test_house_sql.py)
can read.

JSON is stored as text on both engines (what the API sends and the exports write, byte for byte);
PostgreSQL reads it as `jsonb` where a statement looks inside it.
"""

import msgspec

UNIT = 31  # the unit separator: what joins a list in one column (a region id never holds it)
QUOTED_COMMA = "','"


class Dialect(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    ordered_join: str  # a join kept in the order written: SQLite's CROSS JOIN; PostgreSQL plans its own

    def joined(self, expr: str, comma: bool = False) -> str:
        """The group's values of `expr` as one text (no order promised), joined by the unit separator
        (`comma`: by a comma, for values that never hold one, such as numbers)."""
        if self.name == "sqlite":
            return f"group_concat({expr}, {QUOTED_COMMA if comma else f'char({UNIT})'})"
        return f"string_agg(CAST({expr} AS text), {QUOTED_COMMA if comma else f'chr({UNIT})'})"

    def json_list(self, expr: str) -> str:
        """The group's values of `expr` as a JSON array, as text ('[]' for none)."""
        if self.name == "sqlite":
            return f"json_group_array({expr})"
        return f"coalesce(CAST(json_agg({expr}) AS text), '[]')"

    def json_length(self, expr: str, member: str | None = None) -> str:
        """The length of the JSON array in the text `expr` (or of its object's `member`)."""
        if self.name == "sqlite":
            return f"json_array_length({expr}, '$.{member}')" if member else f"json_array_length({expr})"
        value = f"CAST({expr} AS jsonb)" + (f" -> '{member}'" if member else "")
        return f"jsonb_array_length({value})"

    def json_strings(self, expr: str, alias: str) -> str:
        """A FROM item named `alias`: the JSON array of strings in the text `expr` as rows, `value`
        the string and `key` its place (0-based on SQLite, 1-based on PostgreSQL: for ordering only).
        It may read a column of a table before it in the FROM (both take it as a lateral join)."""
        if self.name == "sqlite":
            return f"json_each({expr}) AS {alias}"
        return f"jsonb_array_elements_text(CAST({expr} AS jsonb)) WITH ORDINALITY AS {alias}(value, key)"

    def starts_numeric(self, expr: str) -> str:
        """True when the text `expr` starts with a digit or a minus (a JSON number)."""
        if self.name == "sqlite":
            return f"{expr} GLOB '[0-9-]*'"
        return f"{expr} ~ '^[0-9-]'"

    def contains(self, haystack: str, needle: str) -> str:
        """True when the text `haystack` holds `needle` (no pattern characters: a plain substring)."""
        if self.name == "sqlite":
            return f"instr({haystack}, {needle}) > 0"
        return f"strpos({haystack}, {needle}) > 0"

    def indexed_by(self, index: str) -> str:
        """SQLite's hint to read `index` (where its planner would choose worse); nothing on PostgreSQL."""
        return f"INDEXED BY {index}" if self.name == "sqlite" else ""


SQLITE = Dialect(name="sqlite", ordered_join="CROSS JOIN")
POSTGRESQL = Dialect(name="postgresql", ordered_join="JOIN")


def of(db) -> Dialect:
    """The dialect of a connection: PostgreSQL's for server/postgres.py's, SQLite's for the rest."""
    return POSTGRESQL if getattr(db, "engine", None) == "postgresql" else SQLITE
