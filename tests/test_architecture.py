"""Guards on the package's shape (docs: /work/shared/design/layout.md, issue 14).

Four ratchets, each read from the source with ``ast`` (nothing is imported):

* imports go one way through the layers ``document -> model -> sections -> {edit, check, plan,
  render} -> live -> cli`` (``errors`` is below everything, only ``live`` and ``cli`` touch
  ``store``), and there are no import cycles; function-level (lazy) imports count like
  module-level ones but are reported apart;
* no module over ``MODULE_LIMIT`` lines, no function over ``FUNCTION_LIMIT`` lines;
* the CLI only parses and prints: no store/runtime/txn/backend internals, no file I/O of its own,
  no sniffing of the backend;
* the pure layers (everything above ``live``) do no I/O.

Today's violations are listed in the allow-lists right below.  They may only shrink: a new
violation fails, and so does a listed one that is gone (delete its line) or, for sizes, a
ceiling more than ``SLACK`` above the actual size (lower it).  ``python tests/test_architecture.py``
prints the lists as they are today.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "netupdate"

MODULE_LIMIT = 500
FUNCTION_LIMIT = 60
SLACK = 1.10   # a listed ceiling may be at most 10% above the actual size

# ------------------------------------------------------------------------- allow-lists (shrink!)
# (importer, imported, "module" | "function"): imports against the layer direction
LAYER_VIOLATIONS: set[tuple[str, str, str]] = set()

# strongly connected groups of modules (import cycles)
CYCLES: list[set[str]] = []

# module -> its line count today (a ceiling)
MODULE_CEILINGS = {
}

# "module::qualified.name" -> its line count today (a ceiling)
FUNCTION_CEILINGS = {
}

# (module, kind, what) -> how often today; kinds: "import" (a CLI module imports an internal),
# "private" (uses an underscore name or attribute of another object), "store" (reaches into a
# connection's store), "io" (file or process I/O), "sniff" (asks which backend it has)
CLI_VIOLATIONS: dict = {
    # os._exit: an interrupted command, rolled back and unlocked, ends without freeing a big
    # network's objects one by one (cli.end_now; issue 12)
    ("netupdate/cli/__init__.py", "private", "._exit"): 1,
}

# (module, "io", what) -> how often today: I/O in the layers that must stay pure
PURE_IO = {
    ('netupdate/check/rnggrammar.py', 'io', '.read_bytes'): 1,
    ('netupdate/document/source.py', 'io', 'open'): 1,
    # listing a folder's documents for validate DIR (beside read_file: which bytes are documents)
    ('netupdate/document/folder.py', 'io', 'os.walk'): 1,
    # a costly nodeSpec runs in a forked child killed after 2 s: libxml2 holds the GIL, so
    # nothing in the process can stop it (docs/update.md)
    ('netupdate/edit/xpathguard.py', 'io', 'os.kill'): 1,
    ('netupdate/edit/xpathguard.py', 'io', 'os.read'): 1,
    ('netupdate/edit/xpathguard.py', 'io', 'os.write'): 2,
}

# ------------------------------------------------------------------------- the layers
# The package of each layer (longest prefix wins).
LAYER_OF_PREFIX = {
    "netupdate.errors": "errors",
    "netupdate.libc": "system",              # libc calls: for the layers that do I/O
    "netupdate.document": "document",
    "netupdate.model": "model",
    "netupdate.sections": "sections",
    "netupdate.edit": "edit",
    "netupdate.check": "check", "netupdate.rng": "check",
    "netupdate.planning": "plan",
    "netupdate.render": "render",
    "netupdate.live": "live",
    "netupdate.store": "store",
    "netupdate": "api",                      # the lazy public API (__init__)
    "netupdate.cli": "cli", "netupdate.__main__": "launch",
    "netupdate.cmdserver": "launch",         # hands a command to a forked child of a server
}
RANK = {"errors": 0, "system": 0, "document": 1, "model": 2, "sections": 3,
        "edit": 4, "check": 4, "plan": 4, "render": 4,    # siblings: none imports another
        "live": 5, "api": 6, "cli": 7, "launch": 8}
PURE_LAYERS = {"document", "model", "sections", "edit", "check", "plan", "render"}

# what the CLI must not import (it goes through netupdate.connect() and the public API)
CLI_FORBIDDEN = ("netupdate.store", "netupdate.live")
IO_CALLS = {"open"}
IO_MODULE_CALLS = {
    "os": {"open", "remove", "unlink", "rename", "replace", "makedirs", "mkdir", "rmdir",
           "listdir", "scandir", "walk", "fsync", "write", "read", "truncate", "system",
           "popen", "kill"},
    "socket": {"socket", "create_connection", "socketpair"},
    "shutil": None, "subprocess": None, "tempfile": None,   # None: every call
}
IO_METHODS = {"read_text", "write_text", "read_bytes", "write_bytes", "unlink", "mkdir",
              "rmdir", "iterdir", "rglob", "symlink_to"}
SNIFF_CALLS = {"hasattr", "uses_libvirt"}     # which backend, which result type?
STREAM_ATTRIBUTES = {"reconfigure", "fileno", "isatty", "buffer"}   # hasattr on a stream is fine


def layer_of(module: str) -> str:
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        layer = LAYER_OF_PREFIX.get(".".join(parts[:cut]))
        if layer is not None:
            return layer
    raise KeyError(module)


def allowed(source: str, target: str) -> bool:
    """Whether layer ``source`` may import layer ``target``."""
    if source == target or target == "errors":
        return True
    if target == "system":
        return source not in PURE_LAYERS
    if target == "store":
        return source in ("live", "cli")
    if source == "store":
        return False
    return RANK[target] < RANK[source]


# ------------------------------------------------------------------------- reading the source
def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "rng" in path.relative_to(PACKAGE).parts[:1]:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


@cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(tree: ast.AST):
    """(node, inside a function) for every import statement."""
    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            yield from visit(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    yield from visit(tree, False)


def _targets(node, module: str, known) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) of one import statement."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")[:len(module.split(".")) - node.level + (
            1 if known[module].name == "__init__.py" else 0)]
        base = ".".join(package + ([base] if base else []))
    out = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        out.append((full, None) if full in known else (base, alias.name))
    return out


def import_edges() -> dict[tuple[str, str], set[str]]:
    """(importer, imported) -> {"module", "function"} for every import inside netupdate."""
    known = modules()
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, path in known.items():
        for node, in_function in _imports(_parse(path)):
            for target, _name in _targets(node, module, known):
                if target.split(".")[0] == "netupdate" and target != module:
                    edges[module, target].add("function" if in_function else "module")
    return dict(edges)


def layer_violations() -> set[tuple[str, str, str]]:
    return {(source, target, level) for (source, target), levels in import_edges().items()
            for level in levels if not allowed(layer_of(source), layer_of(target))}


def cycles() -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in import_edges():
        graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(set(graph) | set(modules())):
        if node not in index:
            connect(node)
    return found


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            yield name, node.end_lineno - node.lineno + 1
            yield from _functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")
        else:
            yield from _functions(node, prefix)


def sizes() -> tuple[dict[str, int], dict[str, int]]:
    """(module -> lines, "module::function" -> lines) of everything in the package."""
    module_lines, function_lines = {}, {}
    for path in modules().values():
        text = path.read_text()
        module_lines[rel(path)] = len(text.splitlines())
        for name, lines in _functions(ast.parse(text, str(path))):
            key = f"{rel(path)}::{name}"
            function_lines[key] = max(lines, function_lines.get(key, 0))
    return module_lines, function_lines


def _io(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id in IO_CALLS:
        return func.id
    if isinstance(func, ast.Attribute):
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in IO_MODULE_CALLS:
            names = IO_MODULE_CALLS[owner.id]
            if names is None or func.attr in names:
                return f"{owner.id}.{func.attr}"
        if func.attr in IO_METHODS:
            return f".{func.attr}"
    return None


def io_calls(path: Path) -> Counter:
    found = Counter()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Call) and (what := _io(node)):
            found[rel(path), "io", what] += 1
    return found


def _own(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def _on_stream(call: ast.Call) -> bool:
    return len(call.args) == 2 and isinstance(call.args[1], ast.Constant) and \
        call.args[1].value in STREAM_ATTRIBUTES


def cli_violations() -> Counter:
    known = modules()
    found = Counter()
    for module, path in known.items():
        if layer_of(module) != "cli":
            continue
        tree = _parse(path)
        name = rel(path)
        for node, _in_function in _imports(tree):
            for target, imported in _targets(node, module, known):
                if target.startswith(CLI_FORBIDDEN):
                    found[name, "import", target] += 1
                if imported and imported.startswith("_") and not imported.startswith("__") \
                        and target.startswith("netupdate"):
                    found[name, "private", f"{target}.{imported}"] += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and not _own(node):
                if node.attr == "store":
                    found[name, "store", ".store"] += 1
                elif node.attr.startswith("_") and not node.attr.startswith("__"):
                    found[name, "private", f".{node.attr}"] += 1
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in SNIFF_CALLS and not _on_stream(node):
                found[name, "sniff", node.func.id] += 1
        found.update(io_calls(path))
    return found


def pure_io() -> Counter:
    found = Counter()
    for module, path in modules().items():
        if layer_of(module) in PURE_LAYERS:
            found.update(io_calls(path))
    return found


# ------------------------------------------------------------------------- the ratchets
def _counted(actual: Counter, allowed_counts: dict, what: str) -> list[str]:
    problems = []
    for key, count in sorted(actual.items()):
        ceiling = allowed_counts.get(key, 0)
        if count > ceiling:
            problems.append(f"new {what}: {key} x{count} (allowed {ceiling})")
    for key, ceiling in sorted(allowed_counts.items()):
        if actual.get(key, 0) < ceiling:
            problems.append(f"fixed {what} still listed: {key} is now x{actual.get(key, 0)}: "
                            f"lower or delete its entry (ceiling {ceiling})")
    return problems


def _sized(actual: dict[str, int], ceilings: dict[str, int], limit: int, what: str) -> list[str]:
    problems = []
    for key, lines in sorted(actual.items()):
        if lines > limit and key not in ceilings:
            problems.append(f"new {what} over {limit} lines: {key} has {lines}: split it")
    for key, ceiling in sorted(ceilings.items()):
        lines = actual.get(key)
        if lines is None or lines <= limit:
            problems.append(f"{key} is gone or within {limit} lines now: delete its ceiling")
        elif lines > ceiling:
            problems.append(f"{key} grew to {lines} lines (ceiling {ceiling}): split it")
        elif ceiling > lines * SLACK:
            problems.append(f"{key} shrank to {lines} lines: lower its ceiling from {ceiling}")
    return problems


def test_every_module_has_a_layer():
    assert [m for m in modules() if not _has_layer(m)] == []


def _has_layer(module: str) -> bool:
    try:
        layer_of(module)
    except KeyError:
        return False
    return True


def test_imports_follow_the_layers():
    actual = layer_violations()
    new = sorted(actual - LAYER_VIOLATIONS)
    fixed = sorted(LAYER_VIOLATIONS - actual)
    assert not new, "imports against the layer direction (document -> model -> sections -> " \
        "{edit, check, plan, render} -> live -> cli; only live and cli import store):\n" + \
        "\n".join(f"  {s} -> {t} ({level}-level: {layer_of(s)} -> {layer_of(t)})"
                  for s, t, level in new)
    assert not fixed, "fixed, delete from LAYER_VIOLATIONS:\n" + "\n".join(map(str, fixed))


def test_no_import_cycles():
    actual = cycles()
    edges = import_edges()

    def show(group):
        return "\n".join(f"  {s} -> {t} ({', '.join(sorted(levels))}-level)"
                         for (s, t), levels in sorted(edges.items()) if s in group and t in group)
    new = [group for group in actual if group not in CYCLES]
    fixed = [group for group in CYCLES if group not in actual]
    assert not new, "import cycles:\n" + "\n\n".join(show(group) for group in new)
    assert not fixed, f"cycle broken or changed, update CYCLES: {fixed}"


def test_module_sizes_only_go_down():
    assert _sized(sizes()[0], MODULE_CEILINGS, MODULE_LIMIT, "module") == []


def test_function_sizes_only_go_down():
    assert _sized(sizes()[1], FUNCTION_CEILINGS, FUNCTION_LIMIT, "function") == []


def test_cli_only_parses_and_prints():
    assert _counted(cli_violations(), CLI_VIOLATIONS, "CLI violation") == []


def test_pure_layers_do_no_io():
    assert _counted(pure_io(), PURE_IO, "I/O in a pure layer") == []


# ------------------------------------------------------------------------- the guards themselves
def _tree(files: dict[str, str], tmp_path: Path, monkeypatch) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "netupdate")


def test_guards_see_layers_cycles_and_both_import_levels(tmp_path, monkeypatch):
    _tree({"netupdate/__init__.py": "",
           "netupdate/model/defs.py": "def f():\n    from netupdate.edit import engine as update\n",
           "netupdate/edit/engine.py": "from netupdate.model.defs import f\nfrom .. import store\n",
           "netupdate/store/__init__.py": "",
           "netupdate/cli/__init__.py": "import netupdate.store\n"}, tmp_path, monkeypatch)
    assert layer_violations() == {("netupdate.model.defs", "netupdate.edit.engine", "function"),
                                  ("netupdate.edit.engine", "netupdate.store", "module")}
    assert cycles() == [{"netupdate.model.defs", "netupdate.edit.engine"}]
    assert cli_violations() == Counter({("netupdate/cli/__init__.py", "import",
                                         "netupdate.store"): 1})


def test_guards_see_sizes_io_and_cli_reach(tmp_path, monkeypatch):
    body = "\n".join(f"        x = {i}" for i in range(FUNCTION_LIMIT))
    _tree({"netupdate/__init__.py": "",
           "netupdate/model/defs.py": f"class A:\n    def big(self):\n{body}\n"
                                 "def g(p):\n    return open(p).read() + p.read_text()\n",
           "netupdate/cli/__init__.py": "def h(conn, args):\n    conn.store.x = conn._y\n"
                                        "    return hasattr(conn, 'z')\n"}, tmp_path, monkeypatch)
    module_lines, function_lines = sizes()
    assert function_lines["netupdate/model/defs.py::A.big"] == FUNCTION_LIMIT + 1
    assert _sized(function_lines, {}, FUNCTION_LIMIT, "function") == [
        f"new function over {FUNCTION_LIMIT} lines: netupdate/model/defs.py::A.big has "
        f"{FUNCTION_LIMIT + 1}: split it"]
    assert _sized(function_lines, {"netupdate/model/defs.py::A.big": 80}, FUNCTION_LIMIT, "f") == [
        f"netupdate/model/defs.py::A.big shrank to {FUNCTION_LIMIT + 1} lines: lower its ceiling "
        "from 80"]
    assert pure_io() == Counter({("netupdate/model/defs.py", "io", "open"): 1,
                                 ("netupdate/model/defs.py", "io", ".read_text"): 1})
    assert cli_violations() == Counter({("netupdate/cli/__init__.py", "store", ".store"): 1,
                                        ("netupdate/cli/__init__.py", "private", "._y"): 1,
                                        ("netupdate/cli/__init__.py", "sniff", "hasattr"): 1})
    assert _counted(Counter({"a": 1}), {"a": 2}, "x") == [
        "fixed x still listed: a is now x1: lower or delete its entry (ceiling 2)"]


def _print_lists() -> None:   # pragma: no cover - a maintenance helper
    module_lines, function_lines = sizes()
    print("LAYER_VIOLATIONS =", "{\n" + "".join(f"    {v!r},\n" for v in
                                               sorted(layer_violations())) + "}")
    print("CYCLES =", [sorted(group) for group in cycles()])
    for title, actual, limit in (("MODULE_CEILINGS", module_lines, MODULE_LIMIT),
                                 ("FUNCTION_CEILINGS", function_lines, FUNCTION_LIMIT)):
        print(f"{title} = {{")
        for key, lines in sorted(actual.items()):
            if lines > limit:
                print(f"    {key!r}: {lines},")
        print("}")
    for title, actual in (("CLI_VIOLATIONS", cli_violations()), ("PURE_IO", pure_io())):
        print(f"{title} = {{")
        for key, count in sorted(actual.items()):
            print(f"    {key!r}: {count},")
        print("}")


if __name__ == "__main__":   # pragma: no cover
    _print_lists()

