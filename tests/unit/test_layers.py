"""The walls between the packages (../shared/DESIGN.md, "Dependency direction"), read from the source with ast:
who may import whom, no import cycle, Redis spoken only by the store (and ops/, bootstrap), no module over 400 lines;
and no widget JS file over 700 lines.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400

# module prefix -> layer (the longest prefix wins)
LAYERS = {
    "service": "entry",  # create_app: the web process' composition
    "service.__main__": "ops",
    "service.ops": "ops",
    "service.bootstrap": "bootstrap",
    "service.jobs": "jobs",
    "service.web": "web",
    "service.services": "services",
    "service.deps": "deps",
    "service.insights": "core",
    "service.mirror": "core",
    "service.model": "model",
    "service.store": "store",
    "service.amocrm": "amocrm",
    "service.config": "base",
    "service.crypto": "base",
    "service.errors": "base",
    "service.logs": "base",
    "service.preview": "preview",
    "service.sandbox": "sandbox",
}
ANYTHING = set(LAYERS.values())
# layer -> the layers it may import. Adapters (store, amocrm) never import each other or the use cases, and of the
# pure core only the records (model), not the rules (mirror, insights); the core imports only itself. `jobs` is the
# worker's edge: like create_app, it asks bootstrap for the process' Deps.
MAY_IMPORT = {
    "base": {"base"},
    "model": {"model"},
    "core": {"core", "model"},
    "store": {"store", "model", "base"},
    "amocrm": {"amocrm", "model", "base"},
    "deps": {"deps", "store", "base"},
    "services": {"services", "core", "model", "store", "amocrm", "deps", "base"},
    "web": {"web", "services", "core", "model", "deps", "base"},
    "jobs": {"jobs", "services", "bootstrap", "base"},
    "bootstrap": {"bootstrap", "deps", "store", "amocrm", "base"},  # the composition root builds the adapters
    "sandbox": {"sandbox"},
    "preview": ANYTHING - {"bootstrap"},  # the amoCRM stand-in page for development: built on the app, not by it
    "entry": ANYTHING,
    "ops": ANYTHING,
}
REDIS_SPEAKERS = {"store", "ops", "bootstrap"}


def layer_of(module: str) -> str:
    """The layer of a dotted module name."""
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    """Every module of the service package by dotted name."""
    out = {}
    for path in (ROOT / "service").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


@lru_cache(maxsize=None)
def tree(module: str) -> ast.Module:
    return ast.parse(modules()[module].read_text())


def _type_checking_only(module: str) -> set[int]:
    """Line numbers of imports under `if TYPE_CHECKING:` (annotations only: no import at run time)."""
    lines = set()
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines.update(n.lineno for stmt in node.body for n in ast.walk(stmt))
    return lines


def imports(module: str) -> set[str]:
    """The service modules `module` imports at run time (anywhere in it, lazy imports included)."""
    known, skip, found = modules(), _type_checking_only(module), set()
    is_package = modules()[module].name == "__init__.py"
    for node in ast.walk(tree(module)):
        if node.__class__ not in (ast.Import, ast.ImportFrom) or node.lineno in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        found.update(n for n in names if n in known and n != module)
    return found


def test_every_import_goes_the_allowed_direction():
    wrong = []
    for module in modules():
        for target in imports(module):
            if layer_of(target) not in MAY_IMPORT[layer_of(module)]:
                wrong.append(f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_nothing_but_the_entry_points_imports_bootstrap():
    importers = {m for m in modules() if "service.bootstrap" in imports(m)}
    assert {layer_of(m) for m in importers} <= {"entry", "jobs", "ops", "bootstrap"}, sorted(importers)


def test_there_is_no_import_cycle():
    graph = {m: imports(m) for m in modules()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert not cycles, cycles


def _annotations(module: ast.Module) -> set[int]:
    """ids of the nodes inside type annotations (naming `redis.Redis` as a type sends nothing)."""
    roots = [n.annotation for n in ast.walk(module) if isinstance(n, (ast.AnnAssign, ast.arg)) and n.annotation]
    roots += [n.returns for n in ast.walk(module)
              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns]
    return {id(n) for root in roots for n in ast.walk(root)}


def _redis_misuse(module: ast.Module) -> list[str]:
    """Ways a module outside the store could talk to Redis itself: a call on a `.redis` client (`deps.redis.get`,
    `store.redis.hscan_iter`), a use of the redis module other than its exception classes and type names, or
    building a key (importing the store's key names)."""
    found, typing_only = [], _annotations(module)
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if (isinstance(receiver, ast.Attribute) and receiver.attr == "redis") or \
                    (isinstance(receiver, ast.Name) and receiver.id == "redis"):
                found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "redis" \
                and id(node) not in typing_only and not node.attr.endswith(("Error", "exceptions")):
            found.append(f"line {node.lineno}: redis.{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("redis") \
                and node.module != "redis.exceptions":
            found.append(f"line {node.lineno}: from {node.module} import ...")
        if isinstance(node, ast.Attribute) and node.attr == "redis" and ast.unparse(node.value).endswith("store"):
            found.append(f"line {node.lineno}: {ast.unparse(node)} (the store's own client)")
        if isinstance(node, ast.ImportFrom) and node.module == "service.store.keys":
            found.append(f"line {node.lineno}: builds keys (service.store.keys)")
    return found


def test_only_the_store_ops_and_bootstrap_speak_redis():
    wrong = {m: _redis_misuse(tree(m)) for m in modules() if layer_of(m) not in REDIS_SPEAKERS}
    assert not {m: w for m, w in wrong.items() if w}


def test_the_redis_rule_sees_a_raw_command_and_a_hand_built_key():
    source = "from service.store.keys import account_key\n\ndef f(deps):\n    deps.store.redis.hset('k', 'f', 1)\n"
    assert len(_redis_misuse(ast.parse(source))) == 3  # the import, the command, the store's client
    assert len(_redis_misuse(ast.parse("def f(deps):\n    return Part(deps.store.redis)\n"))) == 1


def test_the_direction_rule_sees_an_adapter_importing_a_use_case():
    assert layer_of("service.services.intake") not in MAY_IMPORT[layer_of("service.store.inbox")]
    assert layer_of("service.amocrm.client") not in MAY_IMPORT[layer_of("service.store.core")]
    assert layer_of("service.mirror") not in MAY_IMPORT[layer_of("service.store.mirror")]  # the rules stay out
    assert layer_of("service.insights.cards") not in MAY_IMPORT[layer_of("service.amocrm.client")]


def _queues_itself(module: ast.Module) -> list[str]:
    """Ways a module could queue a job around services/queueing.py: a call of an RQ queue's enqueue methods, or a
    job function named by its string."""
    found = []
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("enqueue", "enqueue_in", "enqueue_at", "enqueue_call", "enqueue_many") \
                and ast.unparse(node.func.value) != "queueing":
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("service.jobs."):
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_every_job_is_queued_through_queueing():
    """One table owns every job's queue, id, timeout, retries and uniqueness (issue 19): nobody queues around it."""
    own = {"service.services.queueing"} | {m for m in modules() if layer_of(m) == "sandbox"}  # the sandbox's hooks
    wrong = {m: _queues_itself(tree(m)) for m in modules() if m not in own}
    assert not {m: w for m, w in wrong.items() if w}


def test_the_queueing_rule_sees_a_queue_used_directly():
    source = "def f(deps):\n    deps.queues['insights'].enqueue('service.jobs.recompute_account', 1)\n"
    assert len(_queues_itself(ast.parse(source))) == 2


def test_no_module_is_over_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in modules().values()}
    long = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not long


MAX_WIDGET_LINES = 700  # issue 19: the widget as modules, none of them a second script.js


def test_no_widget_file_is_over_700_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "widget").rglob("*.js")}
    assert "script.js" in sizes and len(sizes) > 5  # the entry and its modules
    assert {name: n for name, n in sizes.items() if n > MAX_WIDGET_LINES} == {}
