"""Sphinx extension: the advlab reference, generated from the package at every build.

``book/reference.md`` holds one placeholder block::

    ```{advlab-reference} advlab
    ```

When Sphinx reads that page, the block is replaced by one section per public module of the
package (found with :mod:`pkgutil`, so a new module appears without editing anything),
sorted by dotted name. Each section has the module's docstring (``automodule``), an
``autosummary`` table of everything in its ``__all__``, and then every name of that
``__all__`` as a documented object at that dotted path, so ``{func}`advlab.attacks.pgd```
and ``{func}`advlab.pgd``` both resolve:

* an object is documented in full (``autofunction``, ``autoclass`` ...) once, at its
  *home*: the shallowest public module below the top level, on the path of the module
  that defines it, whose ``__all__`` lists it (``pgd`` is defined in
  ``advlab.attacks.pgd`` and exported by ``advlab.attacks`` and ``advlab``: its home is
  ``advlab.attacks.pgd``, the function). A constant's home is the module that assigns it.
* everywhere else it is listed, a short entry links to the home. The entry is a
  Python-domain object registered as an alias (as Sphinx registers ``:canonical:`` paths),
  so a short name that matches several paths resolves to the home without a warning.

Why not autosummary's ``:recursive:`` stub pages (tried with jupyter-book 1.0.4, ``-W``): the
first build fails on the stubs' own toctrees ("toctree directive not expected with
external-toc"), and the next one because ``only_build_toc_files`` excludes the stubs left by
the first before autosummary regenerates them ("autosummary references excluded document").
Stubs that documented members would also give the function ``advlab.attacks.pgd`` and the
module ``advlab.attacks.pgd`` one dotted name, a duplicate object for Sphinx.

Private modules (a leading underscore anywhere in the dotted name) are not documented;
what they define appears where a public module exports it. A module whose dotted name is
taken by an object of its package (the module ``advlab.attacks.pgd`` behind the function
``advlab.attacks.pgd``) gets its section without a module target, which Sphinx could not
tell apart from the function's.

No file is generated on disk: the text exists only inside the build.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import pkgutil
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

#: The placeholder block in a MyST page: ```{advlab-reference} PACKAGE``` and its closing fence.
PLACEHOLDER = re.compile(
    r"^```\{advlab-reference\}[ \t]+(?P<package>[\w.]+)[ \t]*\n```[ \t]*$", re.M
)

#: autodoc directive and cross-reference role by kind of object.
DIRECTIVES = {
    "function": ("autofunction", "py:function", "func"),
    "class": ("autoclass", "py:class", "class"),
    "exception": ("autoexception", "py:exception", "exc"),
    "data": ("autodata", "py:data", "data"),
}

#: Longest value repr shown after a constant's name (longer ones, and reprs with memory
#: addresses, are left out: they make the page unreadable or differ between builds).
MAX_VALUE_REPR = 80


@dataclass(frozen=True)
class Entry:
    """One name of one module's ``__all__``.

    Attributes
    ----------
    module : str
        The module whose ``__all__`` lists the name.
    name : str
        The name.
    kind : str
        ``"module"``, ``"function"``, ``"class"``, ``"exception"`` or ``"data"``.
    home : str
        The dotted path where the object is documented in full (for a module: its own name).
    """

    module: str
    name: str
    kind: str
    home: str

    @property
    def path(self) -> str:
        """The dotted path of this entry, ``module.name``."""
        return f"{self.module}.{self.name}"

    @property
    def is_home(self) -> bool:
        """Whether the object is documented in full here."""
        return self.home == self.path


@dataclass(frozen=True)
class ModulePlan:
    """A public module's section of the reference.

    Attributes
    ----------
    name : str
        The module's dotted name.
    indexed : bool
        False when the dotted name is also an object of the parent package (the module
        ``advlab.attacks.pgd`` behind the function ``advlab.attacks.pgd``): the section
        then has no module target.
    entries : tuple of Entry
        One per name of the module's ``__all__``, in that order.
    """

    name: str
    indexed: bool
    entries: tuple[Entry, ...]


def is_private(dotted: str) -> bool:
    """Whether a dotted module name has a private part (a leading underscore)."""
    return any(part.startswith("_") for part in dotted.split("."))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # Deprecated modules kept for old import paths warn when imported (or, through a module
    # __getattr__, when read); they are still public and documented (their docstring says
    # what replaces them).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _import(name: str) -> ModuleType:
    with _quiet():
        return importlib.import_module(name)


def public_modules(package: str) -> list[str]:
    """Every public module of ``package`` (itself included), sorted by dotted name.

    Parameters
    ----------
    package : str
        The top-level package, e.g. ``"advlab"``.

    Returns
    -------
    list of str
        Dotted names; modules with a private part are left out, and so is everything
        below a private package.
    """
    root = _import(package)
    names = [package]
    prefix = package + "."
    for info in pkgutil.walk_packages(root.__path__, prefix):
        if not is_private(info.name):
            _import(info.name)
            names.append(info.name)
    return sorted(names)


def _kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isroutine(obj):
        return "function"
    return "data"


def _public_all(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        return []
    missing = [n for n in names if not hasattr(module, n)]
    if missing:
        raise AttributeError(
            f"{module.__name__}.__all__ lists {missing}, which the module does not define; "
            "remove them from __all__ or define them"
        )
    return list(names)


def _assigns(module: ModuleType, name: str) -> bool:
    """Whether the module's own source assigns ``name`` at its top level."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return False
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def _rank(candidate: str, package: str) -> tuple[bool, int, str]:
    # below the top level first (advlab.attacks.pgd, not advlab.pgd), then the shallowest
    depth = candidate.count(".")
    return (candidate == package, depth, candidate)


def _home(
    obj: Any, kind: str, name: str, listed_in: list[str], modules: dict[str, ModuleType]
) -> str:
    """Choose the module (of those whose ``__all__`` lists the object) that documents it in full."""
    package = listed_in[0].split(".")[0]
    chosen: list[str] = []
    defined_in = getattr(obj, "__module__", None) if kind != "data" else None
    if isinstance(defined_in, str):
        chosen = [m for m in listed_in if defined_in == m or defined_in.startswith(m + ".")]
    if not chosen:
        chosen = [m for m in listed_in if _assigns(modules[m], name)]
    if not chosen:
        chosen = listed_in
    return min(chosen, key=lambda m: _rank(m, package))


def plan(package: str = "advlab") -> list[ModulePlan]:
    """Plan the reference of ``package``: one :class:`ModulePlan` per public module.

    Parameters
    ----------
    package : str
        The top-level package to document.

    Returns
    -------
    list of ModulePlan
        Sorted by module name.
    """
    with _quiet():
        return _plan(package)


def _plan(package: str) -> list[ModulePlan]:
    names = public_modules(package)
    modules = {name: sys.modules[name] for name in names}
    public_all = {name: _public_all(module) for name, module in modules.items()}

    # every (module, name) listing of the same object, to find each object's one home
    listings: dict[tuple[int, str], list[str]] = {}
    for module_name, all_names in public_all.items():
        for name in all_names:
            obj = getattr(modules[module_name], name)
            listings.setdefault((id(obj), name), []).append(module_name)

    plans = []
    for module_name in names:
        module = modules[module_name]
        parent, _, last = module_name.rpartition(".")
        indexed = not parent or getattr(modules.get(parent), last, module) is module
        entries = []
        for name in public_all[module_name]:
            obj = getattr(module, name)
            kind = _kind(obj)
            if kind == "module":
                home = obj.__name__
            else:
                listed_in = listings[(id(obj), name)]
                home = f"{_home(obj, kind, name, listed_in, modules)}.{name}"
            entries.append(Entry(module_name, name, kind, home))
        plans.append(ModulePlan(module_name, indexed, tuple(entries)))
    return plans


def _value_options(module: ModuleType, name: str) -> list[str]:
    value = getattr(module, name)
    text = repr(value)
    if len(text) > MAX_VALUE_REPR or " at 0x" in text:
        return ["   :no-value:"]
    return []


def _defined_at(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def render_module(section: ModulePlan, documented_modules: set[str]) -> str:
    """Render one module's section as MyST text (a heading and an ``eval-rst`` block).

    Parameters
    ----------
    section : ModulePlan
        The module.
    documented_modules : set of str
        Modules that have an indexed section of their own (their names link to it).

    Returns
    -------
    str
        MyST Markdown.
    """
    module = sys.modules[section.name]
    rst = [f".. automodule:: {section.name}", "   :no-members:"]
    if not section.indexed:
        rst.append("   :no-index:")
    rst += ["", f".. py:currentmodule:: {section.name}", ""]

    if section.entries:
        rst += [".. autosummary::", ""]
        prefix = section.name + "."
        # relative to the current module where possible (autosummary refuses its full name)
        rst += [f"   ~{entry.home.removeprefix(prefix)}" for entry in section.entries]
        rst.append("")

    for entry in section.entries:
        if entry.kind == "module" or not entry.is_home:
            continue
        directive = DIRECTIVES[entry.kind][0]
        rst.append(f".. {directive}:: {entry.path}")
        if entry.kind in ("class", "exception"):
            rst += ["   :members:", "   :show-inheritance:"]
        elif entry.kind == "data":
            rst += _value_options(module, entry.name)
        rst.append("")

    aliases = [e for e in section.entries if not e.is_home]
    aliases = [e for e in aliases if not (e.kind == "module" and e.path in documented_modules)]
    if aliases:
        rst += [
            ".. rubric:: Also importable from here",
            "",
            f".. advlab-aliases:: {section.name}",
            "",
        ]
        for entry in aliases:
            obj = getattr(module, entry.name)
            # autodoc registers a class's defining path itself (``:canonical:``)
            noted = entry.kind in ("class", "exception") and entry.path == _defined_at(obj)
            rst.append(f"   {entry.name} {entry.kind} {entry.home}{' noted' if noted else ''}")
        rst.append("")

    body = "\n".join(rst).rstrip()
    return f"## `{section.name}`\n\n```{{eval-rst}}\n{body}\n```\n"


def render(package: str = "advlab") -> str:
    """Render the MyST text that replaces the placeholder: every public module's section.

    Parameters
    ----------
    package : str
        The top-level package to document.

    Returns
    -------
    str
        MyST Markdown.
    """
    plans = plan(package)
    documented = {p.name for p in plans if p.indexed}
    with _quiet():
        return "\n".join(render_module(p, documented) for p in plans)


class AliasesDirective(SphinxDirective):
    """``.. advlab-aliases:: MODULE`` with lines ``NAME KIND HOME [noted]``: entries for re-exports.

    Each line becomes a list item with the anchor ``MODULE.NAME`` that links to ``HOME``, and
    ``MODULE.NAME`` becomes a Python-domain object of that kind, so that ``{func}`advlab.pgd```
    resolves. The object is registered as an *alias* (as Sphinx does for ``:canonical:``), so
    that a short name that matches both (``DataUnavailableError``) resolves to the home.
    """

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        """Build the list and register each alias with the Python domain."""
        module = self.arguments[0]
        domain = self.env.get_domain("py")
        items = nodes.bullet_list(classes=["advlab-aliases"])
        for line in self.content:
            name, kind, home, *noted = line.split()
            path = f"{module}.{name}"
            role = "mod" if kind == "module" else DIRECTIVES[kind][2]
            item = nodes.list_item(ids=[path])
            self.state.document.ids[path] = item
            text = f"``{path}``: the same object as :py:{role}:`{home}`"
            inline, messages = self.state.inline_text(text, self.lineno)
            item += nodes.paragraph("", "", *inline)
            item += messages
            items += item
            if not noted:  # ("noted": autodoc registers this path as the class's canonical)
                objtype = "data" if kind == "module" else kind
                domain.note_object(path, objtype, path, aliased=True, location=item)
        return [items]


#: Labels Sphinx defines itself; a docstring section with one of these titles ("Search")
#: would otherwise collide with them.
_RESERVED_LABELS = frozenset({"genindex", "modindex", "py-modindex", "search"})
_EXPANDED: set[str] = set()


class _ImplicitReservedSections(SphinxTransform):
    """Keep docstring sections titled like Sphinx's own pages from becoming labels."""

    default_priority = 840  # before Sphinx collects labels (SphinxDomains, 850)

    def apply(self, **kwargs: Any) -> None:
        if self.env.docname not in _EXPANDED:
            return
        for name in _RESERVED_LABELS & set(self.document.nametypes):
            node = self.document.ids.get(self.document.nameids.get(name) or "")
            if isinstance(node, nodes.section):
                self.document.nametypes[name] = False


def _expand(app: Any, docname: str, source: list[str]) -> None:
    if "{advlab-reference}" not in source[0]:
        return
    _EXPANDED.add(docname)
    source[0] = PLACEHOLDER.sub(lambda m: render(m.group("package")), source[0])


def _always_reread(
    app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    # The page depends on every module of the package: reread it at every build, so that an
    # incremental build picks up a new module or a changed __all__.
    pages = []
    for docname in env.found_docs:
        path = env.doc2path(docname)
        try:
            with open(path, encoding="utf-8") as f:
                if "{advlab-reference}" in f.read():
                    pages.append(docname)
        except OSError:
            continue
    return pages


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx."""
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.add_directive("advlab-aliases", AliasesDirective)
    app.add_transform(_ImplicitReservedSections)
    app.connect("source-read", _expand)
    app.connect("env-get-outdated", _always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
