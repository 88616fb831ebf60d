"""Which folder of `app/workflow/guidance/` serves each policy's first-steps content and routing table.

A policy with its own folder (`fr`, `uk`) uses it; a policy without one names, in `guidance/index.toml`, the
folder it reuses (`coe` and `be` reuse `generic` for the content). The reuse is never silent: the loaded
guidance and routing table carry `fallback`, the folder they came from, so that a page can say "general
guidance, not written for this jurisdiction".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import StringConstraints

from app.workflow.datafiles import ContentError, StrictModel, load_file

GUIDANCE_DIR = Path(__file__).parent / "guidance"
INDEX_FILE = GUIDANCE_DIR / "index.toml"

Folder = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]


class _Sources(StrictModel):
    content: Folder
    routing: Folder


class _Index(StrictModel):
    policies: dict[str, _Sources]


@dataclass(frozen=True, slots=True)
class GuidanceSources:
    """Where a policy's guidance comes from; `*_fallback` is the reused folder, or None for its own."""

    policy: str
    content_folder: Path
    routing_folder: Path

    @property
    def content_fallback(self) -> str | None:
        """The folder whose content this policy reuses, or None when it has its own."""
        return None if self.content_folder.name == self.policy else self.content_folder.name

    @property
    def routing_fallback(self) -> str | None:
        """The folder whose routing table this policy reuses, or None when it has its own."""
        return None if self.routing_folder.name == self.policy else self.routing_folder.name


@lru_cache(maxsize=1)
def _index() -> _Index:
    return load_file(_Index, INDEX_FILE)


def indexed_policies() -> tuple[str, ...]:
    """The policies the index knows, sorted."""
    return tuple(sorted(_index().policies))


def guidance_sources(policy: str) -> GuidanceSources:
    """The folders serving `policy`; a policy missing from the index raises `ContentError`."""
    entry = _index().policies.get(policy)
    if entry is None:
        known = ", ".join(indexed_policies())
        raise ContentError(f"{INDEX_FILE}: policies.{policy}: no guidance for this policy (known: {known})")
    return GuidanceSources(policy, GUIDANCE_DIR / entry.content, GUIDANCE_DIR / entry.routing)
