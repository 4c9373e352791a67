"""The shape of the server, held by tests: the imports run one way (no circle), the stores that
publish events import none of the modules that react to them, and no SQL is written in HTTP
modules or the CLI (it lives beside the rules, in the domain's store)."""

import ast
import re
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"
HTTP = ("api.py", "pages.py")


def _module(path: Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module -> the server modules it imports, anywhere in it (inside functions too)."""
    modules = {_module(p): p for p in SERVER.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("server.")}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("server"):
                for a in node.names:  # `from server.x import y`: y is a module when there is one by that name
                    found.add(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module)
        graph[name] = {m for m in found if m in modules and m != name and not name.startswith(m + ".")} - {"server"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_imports_have_no_circle():
    assert _cycle(_imports()) is None, " -> ".join(_cycle(_imports()))


def test_a_circle_is_found_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_stores_import_none_of_what_follows_them():
    """What follows an audit or a photo is server.reactions' table: the stores only publish."""
    graph = _imports()
    followers = {"server.followup.flags", "server.followup.actions", "server.followup.webhooks", "server.program.assignments", "server.program.history"}
    for store in ("server.audits.audits", "server.photos.storage", "server.program.review"):
        assert not graph[store] & followers, f"{store} imports {sorted(graph[store] & followers)}: publish an event instead (server/reactions.py)"


SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.S)  # the house writes SQL keywords in capitals


def _sql_in(path: Path) -> list[str]:
    return [f"{path.relative_to(SERVER.parent)}:{node.lineno}" for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)]


def test_no_sql_in_http_modules_or_the_cli():
    files = [p for p in SERVER.rglob("*.py") if p.name in HTTP] + [SERVER / "cli.py"]
    assert len(files) > 10
    found = [hit for p in files for hit in _sql_in(p)]
    assert not found, f"SQL belongs in the domain's store, not in HTTP modules or the CLI: {found}"


def test_the_sql_check_sees_sql():
    assert SQL.search("SELECT id FROM audits WHERE x = ?") and SQL.search("UPDATE audits SET a = 1") and SQL.search("DELETE FROM photos")
    assert not SQL.search("select a period, then the region") and not SQL.search("the update was set aside")


def test_every_domain_has_its_http_beside_its_store():
    """The layout rule: a domain is a folder whose api.py / pages.py are thin HTTP beside its store
    and rules; flat files are infrastructure. No HTTP module sits outside a domain folder."""
    flat_http = [p.name for p in SERVER.glob("*.py") if p.name in HTTP]
    assert not flat_http
    domains = sorted(p.parent.name for p in SERVER.glob("*/api.py")) + sorted(p.parent.name for p in SERVER.glob("*/pages.py"))
    assert {"audits", "locations", "accounts", "photos", "checklists", "reports", "program", "followup", "campaigns"} <= set(domains)
    templates = SERVER / "templates"
    for html in templates.rglob("*.html"):
        if html.parent != templates:
            assert (SERVER / html.parent.name).is_dir(), f"templates/{html.parent.name}/ names no domain"
