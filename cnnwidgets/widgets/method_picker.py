"""A method picker and its parameter panel, built from an engine's registry through traits.

The front end knows no method names: it draws ``<choice>_options`` as a picker and
``<choice>_params`` (the chosen entry's parameter specs: kind, default, range, label) as
sliders, checkboxes, number fields and selects bound to one ``params`` dict trait
(``paramPanel`` in ``js/src/components/param_panel.ts``). A method registered from a notebook
appears in open widgets too: they subscribe to their registry.
"""

from __future__ import annotations

from typing import Any

from ..core.registry import Registry


class MethodPicker:
    """Keeps a widget's ``<choice>``, ``<choice>_options``, ``<choice>_params``,
    ``<choice>_help`` and ``params`` traits in step with ``registry``.

    ``where`` filters the registry on its entries' flags. Values in ``params`` that the new
    method also has survive a change of method; the others take the new method's defaults.
    """

    def __init__(
        self,
        widget: Any,
        registry: Registry,
        choice: str = "method",
        params: str = "params",
        where: dict | None = None,
    ):
        self.widget, self.registry, self.choice, self.params_trait = (
            widget,
            registry,
            choice,
            params,
        )
        self.where = dict(where or {})
        self.refresh()
        widget.observe(self._chosen, choice)
        self._chosen({"new": getattr(widget, choice)})
        registry.subscribe(self.refresh)

    def refresh(self) -> None:
        """The picker's options, from the registry as it is now."""
        setattr(self.widget, f"{self.choice}_options", self.registry.options(**self.where))

    def _chosen(self, change: dict) -> None:
        name = change["new"]
        if name not in self.registry:
            return  # the recompute reports the unknown name in `error`
        entry = self.registry.get(name)
        specs = entry.spec()["params"]
        old = dict(getattr(self.widget, self.params_trait))
        values = {s["name"]: old.get(s["name"], s["default"]) for s in specs}
        setattr(self.widget, f"{self.choice}_params", specs)
        setattr(
            self.widget,
            f"{self.choice}_help",
            " · ".join(x for x in (entry.description, entry.reference) if x),
        )
        if values != old:
            setattr(self.widget, self.params_trait, values)

    def values(self) -> dict:
        """The chosen method's parameters for the engine call (only the ones it declares)."""
        entry = self.registry.get(getattr(self.widget, self.choice))
        given = getattr(self.widget, self.params_trait)
        return {p.name: given[p.name] for p in entry.params if p.name in given and p.ui}
