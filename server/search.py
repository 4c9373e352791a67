"""A search box's text as SQL: a part of any of some columns, in any case, its characters taken as
typed (a `%` or `_` is searched for, not a wildcard). One rule for every list that has a search.

Written as `lower(column) LIKE lower(?)`, not a bare LIKE: SQLite's LIKE ignores case (ASCII),
PostgreSQL's does not; lowering both sides answers the same on both engines (issue 28)."""


def search_clause(columns: list[str], text: str) -> tuple[str, list[str]]:
    """The WHERE condition for `text` in any of `columns`, and its parameters."""
    like = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return "(" + " OR ".join(f"lower({column}) LIKE lower(?) ESCAPE '\\'" for column in columns) + ")", [like] * len(columns)
