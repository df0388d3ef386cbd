"""Registries: one per engine (saliency methods, CAM methods, parameterizations, objectives,
transforms). Each entry declares its name, a display label, a one-line description, its
reference and its parameters (type, default, range), so that the engine dispatches on it,
validates parameters with one set of messages, and widgets build their pickers and parameter
panels from it. A user registers a method from a notebook and it appears in every widget
created afterwards (and in open ones, which subscribe to their registry).
"""

from __future__ import annotations

import difflib
import numbers
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterError

KINDS = ("int", "float", "bool", "choice", "str", "any")


@dataclass(frozen=True)
class Param:
    """One parameter of a registered method.

    ``kind``: "int", "float", "bool", "choice" (one of ``choices``), "str" or "any" (a value the
    widgets do not edit, such as a baseline tensor). ``min``/``max`` bound numbers (inclusive);
    ``step`` is the widget slider's step. ``choices`` may be a callable returning the current
    list (e.g. the names of another registry). ``ui=False`` keeps it out of widget panels.
    """

    name: str
    kind: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: Sequence[Any] | Callable[[], Sequence[Any]] = ()
    label: str = ""
    help: str = ""
    ui: bool = True

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"parameter kind must be one of {KINDS}, got {self.kind!r}")

    def options(self) -> list:
        return list(self.choices() if callable(self.choices) else self.choices)

    def check(self, value: Any, owner: str) -> Any:
        """``value`` converted to the parameter's type, or a :class:`ParameterError` naming it."""
        where = f"{owner}: parameter {self.name!r}"
        if self.kind == "any":
            return value
        if self.kind == "bool":
            if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
                raise ParameterError(f"{where} must be True or False, got {value!r}")
            return bool(value)
        if self.kind == "str":
            if not isinstance(value, str):
                raise ParameterError(f"{where} must be a string, got {value!r}")
            return value
        if self.kind == "choice":
            options = self.options()
            if value not in options:
                raise ParameterError(
                    f"{where} must be one of {', '.join(map(repr, options))}, got {value!r}"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ParameterError(f"{where} must be a number, got {value!r}")
        if self.kind == "int":
            if int(value) != value:
                raise ParameterError(f"{where} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if value != value:
                raise ParameterError(f"{where} must be a number, got NaN")
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            lo = "-inf" if self.min is None else f"{self.min:g}"
            hi = "inf" if self.max is None else f"{self.max:g}"
            raise ParameterError(f"{where} must lie in [{lo}, {hi}], got {value!r}")
        return value

    def spec(self) -> dict:
        """The parameter as JSON for the front end's parameter panel."""
        out = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label or self.name.replace("_", " "),
            "help": self.help,
            "default": self.default,
        }
        for key in ("min", "max", "step"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.kind == "choice":
            out["choices"] = self.options()
        return out


@dataclass
class Entry:
    """A registered method: ``fn`` and what the widgets and the docs say about it.

    ``extra`` holds what the engine needs to know beyond the parameters (a CAM method's
    ``gradient=True``, an objective's ``unit=True``...).
    """

    name: str
    fn: Callable
    label: str
    description: str = ""
    reference: str = ""
    params: tuple[Param, ...] = ()
    extra: dict = field(default_factory=dict)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def resolve(self, given: dict) -> dict:
        """``given`` checked against the declared parameters, defaults filled in."""
        names = [p.name for p in self.params]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ParameterError(
                f"{self.name!r} takes no parameter "
                f"{', '.join(map(repr, unknown))}; its parameters: "
                f"{', '.join(names) or 'none'}"
            )
        return {
            p.name: p.check(given[p.name], self.name) if p.name in given else p.default
            for p in self.params
        }

    def spec(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "reference": self.reference,
            "params": [p.spec() for p in self.params if p.ui],
            **{k: v for k, v in self.extra.items() if isinstance(v, (bool, int, float, str))},
        }


class Registry:
    """Named entries of one kind (``what``: "saliency method", "CAM method", ...)."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, tuple[str, bool]] = {}  # alias -> (name, deprecated)
        self._listeners: list[weakref.WeakMethod | weakref.ref] = []

    # ---- registering -----------------------------------------------------------------------
    def register(
        self,
        name: str,
        *,
        label: str | None = None,
        description: str = "",
        reference: str = "",
        params: Sequence[Param] = (),
        aliases: Sequence[str] = (),
        deprecated_aliases: Sequence[str] = (),
        replace: bool = False,
        **extra: Any,
    ) -> Callable[[Callable], Callable]:
        """Decorator: register ``fn`` under ``name``. ``replace=True`` overwrites an entry of
        that name (re-running a notebook cell); otherwise a clash is an error."""

        def decorator(fn: Callable) -> Callable:
            self.add(
                Entry(name, fn, label or name, description, reference, tuple(params), dict(extra)),
                aliases=aliases,
                deprecated_aliases=deprecated_aliases,
                replace=replace,
            )
            return fn

        return decorator

    def add(
        self,
        entry: Entry,
        *,
        aliases: Sequence[str] = (),
        deprecated_aliases: Sequence[str] = (),
        replace: bool = False,
    ) -> Entry:
        key = entry.name.lower()
        if not replace and (key in self._entries or key in self._aliases):
            raise ParameterError(
                f"a {self.what} named {entry.name!r} is already registered; "
                "pass replace=True to overwrite it"
            )
        self._entries[key] = entry
        for alias in aliases:
            self._aliases[alias.lower()] = (key, False)
        for alias in deprecated_aliases:
            self._aliases[alias.lower()] = (key, True)
        self._notify()
        return entry

    def unregister(self, name: str) -> None:
        key = self._key(name)
        del self._entries[key]
        self._aliases = {a: v for a, v in self._aliases.items() if v[0] != key}
        self._notify()

    # ---- looking up ------------------------------------------------------------------------
    def _key(self, name: Any) -> str:
        if not isinstance(name, str):
            raise ParameterError(f"a {self.what} is named by a string, not {name!r}")
        key = name.strip().lower()
        if key in self._entries:
            return key
        if key in self._aliases:
            target, deprecated = self._aliases[key]
            if deprecated:
                warnings.warn(
                    f"the {self.what} name {name!r} is deprecated; use "
                    f"{self._entries[target].name!r}",
                    FutureWarning,
                    stacklevel=4,
                )
            return target
        close = difflib.get_close_matches(
            key, list(self._entries) + list(self._aliases), n=3, cutoff=0.5
        )
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ParameterError(
            f"unknown {self.what} {name!r}; the {self.what}s are "
            f"{', '.join(e.name for e in self._entries.values())}.{hint}"
        )

    def get(self, name: str) -> Entry:
        """The entry of ``name`` (case-insensitive, aliases allowed); unknown names get an
        error listing the registered ones."""
        return self._entries[self._key(name)]

    def canonical(self, name: str) -> str:
        return self.get(name).name

    def __contains__(self, name: object) -> bool:
        try:
            self._key(name)
        except ParameterError:
            return False
        return True

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self, **where: Any) -> list[str]:
        """Entry names in registration order; ``where`` filters on ``extra`` flags."""
        return [e.name for e in self if all(e.extra.get(k) == v for k, v in where.items())]

    def options(self, **where: Any) -> list[list[str]]:
        """``[[label, name], ...]`` for a picker."""
        return [
            [e.label, e.name] for e in self if all(e.extra.get(k) == v for k, v in where.items())
        ]

    def specs(self, **where: Any) -> dict[str, dict]:
        """Every entry as JSON (label, description, reference, parameters) for the widgets."""
        return {
            e.name: e.spec() for e in self if all(e.extra.get(k) == v for k, v in where.items())
        }

    # ---- widgets that show this registry ---------------------------------------------------
    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change; held weakly (a closed widget is not kept)."""
        # A reference removes itself when its widget is collected, not at the next change of
        # the registry, which may never come: a notebook that opens many widgets would
        # otherwise grow the list by one dead reference per widget.
        ref = (
            weakref.WeakMethod(callback, self._forget)
            if hasattr(callback, "__self__")
            else weakref.ref(callback, self._forget)
        )
        self._listeners.append(ref)

    def _forget(self, ref: weakref.ref) -> None:
        try:
            self._listeners.remove(ref)
        except ValueError:  # already dropped by _notify
            pass

    def _notify(self) -> None:
        alive = []
        for ref in self._listeners:
            fn = ref()
            if fn is not None:
                alive.append(ref)
                fn()
        self._listeners = alive

    def __repr__(self) -> str:
        return f"<Registry of {len(self)} {self.what}s: {', '.join(self.names())}>"
