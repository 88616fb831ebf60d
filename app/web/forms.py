"""Form errors, shown the accessible way: a summary at the top of the page linking to each field, and the
message again next to its field (templates: `components/forms.html`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass
class FormErrors:
    """The errors of one submitted form, in the order of its fields. Messages are already translated."""

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, field_name: str, message: str) -> None:
        """Record a field's error; a field shows its first error only."""
        self.messages.setdefault(field_name, message)

    def get(self, field_name: str) -> str | None:
        return self.messages.get(field_name)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def summary(self) -> list[tuple[str, str]]:
        """(field name, message) pairs for the error summary, which links each to `#<field name>`."""
        return list(self.messages.items())


def choice_items(table: Mapping[str, str], gettext: Callable[[str], str]) -> list[dict[str, str]]:
    """The items of radios, checkboxes or a select (`components/forms.html`): each code with its label
    (a message id of `app/web/vocabulary.py`) in the page's language."""
    return [{"value": code, "label": gettext(text)} for code, text in table.items()]
