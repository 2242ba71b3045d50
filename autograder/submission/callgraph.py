"""Loops reachable from each function of a student module, read from its AST.

"No loops in ``svm_loss_vectorized``" must hold for everything the function
reaches inside the submission, not for its own text only: a function that
calls the naive version, a helper or another method that loops, or hands a
Python function to ``np.vectorize``, loops. The call graph is built
statically and conservatively: a name or ``self.``/``obj.`` attribute that
may denote a function of the module is an edge, whether it is called,
aliased (``f = helper``), passed along or used as a default argument;
rebinding a name (``svm_loss_vectorized = svm_loss_naive``, or
``self.method = ...``) adds the new value to what the name reaches. Dispatch
that cannot be resolved (``getattr`` with a computed name, ``eval``,
``exec``, ``__import__``, ``globals()``...) is a reason to fail too.

Everything is computed at inspection time into plain strings (the report is
serialized as JSON), for every function and method of the module.
"""

from __future__ import annotations

import ast
import builtins
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

LOOP_NODES: dict[type, str] = {
    ast.For: "for",
    ast.AsyncFor: "for",
    ast.While: "while",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
}

LOOPING_CALLABLES = frozenset(
    {
        "numpy.vectorize",
        "numpy.apply_along_axis",
        "numpy.apply_over_axes",
        "numpy.frompyfunc",
        "numpy.fromiter",
        "builtins.map",
        "builtins.filter",
        "functools.reduce",
    }
)
"""Callables that run a Python function once per element or row: loops
written as calls. Every ``itertools`` function counts too (see ``looping``)."""

DYNAMIC_CALLABLES = frozenset(
    {
        "builtins.eval",
        "builtins.exec",
        "builtins.compile",
        "builtins.__import__",
        "builtins.globals",
        "builtins.locals",
        "builtins.vars",
        "importlib.import_module",
        "importlib.__import__",
        "operator.methodcaller",
        "operator.attrgetter",
        "sys.modules",
    }
)
"""What can reach code the AST does not name."""

DYNAMIC_ATTRIBUTES = frozenset(
    {"__dict__", "__getattribute__", "__getattr__", "__globals__", "__code__", "__closure__", "__builtins__"}
)

ENTRY_METHODS = ("__init__", "__new__", "__call__", "__post_init__")
"""Methods run when a class is named: constructed or called."""

EXPECTED = "no for, while, comprehension, np.vectorize or map, in it or in anything it calls"
"""What a no-loop check expects, for its messages."""

MAX_REASONS = 12
"""Reasons listed per function; the count of the others follows."""

MAX_NODES = 300
"""Names analysed; a student module has a few dozen."""

MAX_EDGES = 10_000
"""References between names analysed; a student module has a few hundred.
Beyond either bound, every function gets that as its reason instead of an
analysis costing names x references (a second or more)."""


@dataclass
class Node:
    """A name of the module (``"f"``, ``"Class"``, ``"Class.method"``): what it
    is bound to, what it does itself, and the names it may reach."""

    bodies: list[tuple[ast.AST, str | None, bool]] = field(default_factory=list)
    """(subtree, enclosing class, whether the subtree is in the class scope itself)."""
    scanned: int = 0
    loops: list[tuple[str, int]] = field(default_factory=list)
    dynamic: list[tuple[str, int]] = field(default_factory=list)
    edges: set[str] = field(default_factory=set)


class Graph:
    """The module's names, their loops and dynamic dispatch, and who reaches whom."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.star: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.module_wide: list[tuple[str, int]] = []
        self._imports(tree)
        self.modules = {name.partition(".")[0] for name in self.aliases.values()} | {"builtins"}
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef):
                self.classes[stmt.name] = stmt
        self._bind_module(tree.body)
        self._scan_all()
        self._inherit()
        if "<module>" in self.nodes:
            self.module_wide += self.nodes.pop("<module>").dynamic
        self.cyclic: set[str] = set()

    # -- bindings ----------------------------------------------------------------------------

    def _imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    self.aliases[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if alias.name == "*":
                        self.star.append(node.module)
                    else:
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _bind(self, name: str, body: ast.AST, cls: str | None = None, class_scope: bool = False) -> None:
        node = self.nodes.setdefault(name, Node())
        if not any(seen is body for seen, _, _ in node.bodies):
            node.bodies.append((body, cls, class_scope))

    def _bind_module(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._bind(stmt.name, stmt)
                continue
            if isinstance(stmt, ast.ClassDef):
                self._bind_class(stmt)
                continue
            self._bind("<module>", stmt)
            if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                self._bind_assignment(stmt, None)
            elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                nested = [s for part in ("body", "orelse", "finalbody") for s in getattr(stmt, part, [])]
                nested += [s for handler in getattr(stmt, "handlers", []) for s in handler.body]
                self._bind_module(nested)

    def _bind_class(self, cls: ast.ClassDef) -> None:
        self.classes[cls.name] = cls
        self._bind(
            cls.name,
            ast.Module(body=[ast.Expr(e) for e in [*cls.decorator_list, *cls.bases]], type_ignores=[]),
        )
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._bind(f"{cls.name}.{stmt.name}", stmt, cls.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
                for target in targets(stmt):
                    if isinstance(target, ast.Name):
                        self._bind(f"{cls.name}.{target.id}", stmt.value, cls.name, class_scope=True)
            else:
                self._bind(cls.name, stmt, cls.name, class_scope=True)
        self.nodes[cls.name].edges |= {f"{cls.name}.{m}" for m in ENTRY_METHODS}

    def _bind_assignment(
        self, stmt: ast.stmt, cls: str | None, declared: frozenset[str] | None = None
    ) -> None:
        """Module-level names (or a function's ``global`` ones), ``Class.m`` and ``self.m``."""
        value = getattr(stmt, "value", None)
        if value is None:
            return
        for target in targets(stmt):
            if isinstance(target, ast.Name) and (declared is None or target.id in declared):
                self._bind(target.id, value)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                owner = target.value.id
                owner = owner if owner in self.classes else cls if owner in ("self", "cls") else None
                if owner:
                    self._bind(f"{owner}.{target.attr}", value, cls)

    def _inherit(self) -> None:
        """``Class.m`` reaches ``Base.m`` for every method a module base class defines."""
        for name, cls in self.classes.items():
            for base in cls.bases:
                if isinstance(base, ast.Name) and base.id in self.classes:
                    for key in [k for k in self.nodes if k.startswith(f"{base.id}.")]:
                        self.nodes.setdefault(f"{name}.{key.partition('.')[2]}", Node()).edges.add(key)

    # -- what a body does --------------------------------------------------------------------

    def _scan_all(self) -> None:
        """Scan every body, including those that scanning binds (``self.m = ...``)."""
        pending = True
        while pending:
            pending = False
            for name, node in list(self.nodes.items()):
                while node.scanned < len(node.bodies):
                    body, cls, class_scope = node.bodies[node.scanned]
                    node.scanned += 1
                    self._scan(name, body, cls, class_scope)
                    pending = True

    def _scan(self, name: str, body: ast.AST, cls: str | None, class_scope: bool) -> None:
        node = self.nodes[name]
        declared = frozenset(n for sub in ast.walk(body) if isinstance(sub, ast.Global) for n in sub.names)
        for sub in ast.walk(body):
            if type(sub) in LOOP_NODES:
                node.loops.append((LOOP_NODES[type(sub)], sub.lineno))
            elif isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and sub is not body:
                self._bind_assignment(sub, cls, declared)
            elif isinstance(sub, ast.Call):
                self._scan_call(node, sub)
            elif isinstance(sub, (ast.Name, ast.Attribute)) and isinstance(sub.ctx, ast.Load):
                self._scan_reference(node, sub, cls, class_scope)

    def _scan_call(self, node: Node, call: ast.Call) -> None:
        callee = self.dotted(call.func)
        if callee not in ("builtins.getattr", "builtins.setattr", "builtins.delattr"):
            return
        attribute = call.args[1] if len(call.args) > 1 else None
        if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
            node.edges |= self.attribute_targets(attribute.value)
            return
        reason = (f"{callee.partition('.')[2]}() with a name computed at run time", call.lineno)
        (node.dynamic if callee == "builtins.getattr" else self.module_wide).append(reason)

    def _scan_reference(
        self, node: Node, ref: ast.Name | ast.Attribute, cls: str | None, class_scope: bool
    ) -> None:
        dotted = self.dotted(ref)
        if dotted and looping(dotted):
            node.loops.append((f"{short(dotted)} (a Python loop over the elements)", ref.lineno))
        elif dotted in DYNAMIC_CALLABLES:
            node.dynamic.append((f"{short(dotted)} (what it reaches cannot be checked)", ref.lineno))
        if isinstance(ref, ast.Name):
            if class_scope and f"{cls}.{ref.id}" in self.nodes:
                node.edges.add(f"{cls}.{ref.id}")
            elif ref.id in self.nodes:
                node.edges.add(ref.id)
        elif ref.attr in DYNAMIC_ATTRIBUTES:
            node.dynamic.append((f".{ref.attr} (what it reaches cannot be checked)", ref.lineno))
        elif dotted is None:
            owner = ref.value.id if isinstance(ref.value, ast.Name) else None
            exact = f"{owner}.{ref.attr}"
            node.edges |= (
                {exact} if owner in self.classes and exact in self.nodes else self.attribute_targets(ref.attr)
            )

    def attribute_targets(self, attribute: str) -> set[str]:
        """Every ``Class.attribute`` of the module (the object's class is not known statically)."""
        return {key for key in self.nodes if key.partition(".")[2] == attribute}

    def dotted(self, expr: ast.expr) -> str | None:
        """``"numpy.vectorize"`` for ``np.vectorize``, ``"builtins.map"`` for ``map``; None
        for the module's own names and for objects."""
        attributes: list[str] = []
        while isinstance(expr, ast.Attribute):  # iterative: chains can be long
            attributes.append(expr.attr)
            expr = expr.value
        base = self.dotted_name(expr.id) if isinstance(expr, ast.Name) else None
        if base is None or (attributes and base.partition(".")[0] not in self.modules - {"builtins"}):
            return None
        return ".".join([base, *reversed(attributes)])

    def dotted_name(self, name: str) -> str | None:
        """What a bare name denotes outside the module: an import, a star import, a builtin."""
        if name in self.aliases:
            return self.aliases[name]
        if name in self.nodes:
            return None
        starred = [f"{module}.{name}" for module in self.star if looping(f"{module}.{name}")]
        if starred:
            return starred[0]
        return f"builtins.{name}" if hasattr(builtins, name) else None

    # -- reachability ------------------------------------------------------------------------

    def reached_reasons(self, root: str) -> list[str]:
        """Loops and dynamic dispatch of ``root`` and everything it reaches."""
        parents: dict[str, str | None] = {root: None}
        queue = deque([root])
        found = [f"{text} (line {line}, module level)" for text, line in self.module_wide]
        while queue:
            name = queue.popleft()
            path = " -> ".join(reversed(list(ancestry(name, parents))))
            where = "" if name == root else f", in {name}, reached through {path}"
            node = self.nodes[name]
            found += [f"{text} (line {line}{where})" for text, line in node.loops + node.dynamic]
            if name in self.cyclic:
                found.append(f"recursion: {name} calls itself, a loop (reached through {path})")
            for target in sorted(node.edges - parents.keys()):
                if target in self.nodes:
                    parents[target] = name
                    queue.append(target)
        if len(found) > MAX_REASONS:
            found = [*found[:MAX_REASONS], f"... and {len(found) - MAX_REASONS} more"]
        return found


def cyclic(nodes: dict[str, Node]) -> set[str]:
    """Names on a cycle of the graph (recursion), by Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[str] = set()
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(nodes[start].edges & nodes.keys())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            name, successors = work[-1]
            target = next(successors, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(nodes[target].edges & nodes.keys()))))
                elif target in on_stack:
                    low[name] = min(low[name], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[name])
            if low[name] == index[name]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == name:
                        break
                if len(component) > 1 or name in nodes[name].edges:
                    found |= set(component)
    return found


def ancestry(name: str, parents: dict[str, str | None]) -> Iterator[str]:
    """``name``, its parent, ... up to the root of the search."""
    current: str | None = name
    while current is not None:
        yield current
        current = parents[current]


def targets(stmt: ast.stmt) -> list[ast.expr]:
    """The assigned expressions of an assignment, tuples unpacked."""
    found = list(stmt.targets) if isinstance(stmt, ast.Assign) else [stmt.target]
    flat: list[ast.expr] = []
    while found:
        target = found.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            found += target.elts
        elif isinstance(target, ast.Starred):
            found.append(target.value)
        else:
            flat.append(target)
    return flat


def looping(dotted: str) -> bool:
    """Whether ``dotted`` names a callable that loops in Python."""
    return dotted in LOOPING_CALLABLES or dotted.startswith("itertools.")


def short(dotted: str) -> str:
    """``np.vectorize`` for ``numpy.vectorize``, ``map`` for ``builtins.map``."""
    module, _, rest = dotted.partition(".")
    if module == "builtins":
        return rest
    return f"{'np' if module == 'numpy' else module}.{rest}"


def reachable_loops(tree: ast.Module) -> dict[str, list[str]]:
    """For every name of the module, the loops and dynamic dispatch it reaches.

    Returns
    -------
    dict
        ``"svm_loss_vectorized"`` or ``"Class.method"`` to reasons such as
        ``"for (line 30, in helper, reached through f -> helper)"``; an empty
        list when the function provably runs no Python loop.
    """
    graph = Graph(tree)
    edges = sum(len(node.edges) for node in graph.nodes.values())
    if len(graph.nodes) > MAX_NODES or edges > MAX_EDGES:
        reason = (
            f"the module has {len(graph.nodes)} names and {edges} references between them, more than "
            f"the {MAX_NODES} and {MAX_EDGES} analysed"
        )
        return {name: [reason] for name in graph.nodes}
    graph.cyclic = cyclic(graph.nodes)
    return {name: graph.reached_reasons(name) for name in graph.nodes}
