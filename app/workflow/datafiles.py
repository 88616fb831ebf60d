"""Reading the service's data files (policies, guidance, routing tables, the indicator catalogue).

Every shipped data file is TOML validated on load by a strict pydantic model: an unknown key is refused, so a
misspelt key is an error rather than a silently ignored default, and each problem is reported as
`<file>: <key>: <problem>` so that the person editing the file finds the line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ContentError(ValueError):
    """A guidance, routing or catalogue file that cannot be loaded: the message names the file, key and problem."""


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def format_validation_errors(source: str, error: ValidationError) -> str:
    """One line per problem: `source: dotted.key: problem`."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problem = item["msg"]
        if item["type"] == "extra_forbidden":
            problem = "unknown key"
        lines.append(f"{source}: {key}: {problem}")
    return "\n".join(lines)


def read_toml(path: Path, error: type[ValueError] = ContentError) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file raises `error` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as failure:
        raise error(f"{path}: cannot be read: {failure.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as failure:
        raise error(f"{path}: (syntax): invalid TOML: {failure}") from None


def validate_mapping(
    model: type[Model], data: dict[str, Any], source: str, error: type[ValueError] = ContentError
) -> Model:
    """Validate parsed data against `model`; every problem is reported with `source` and its key."""
    try:
        return model.model_validate(data)
    except ValidationError as failure:
        raise error(format_validation_errors(source, failure)) from None


def load_file(model: type[Model], path: Path, error: type[ValueError] = ContentError) -> Model:
    """Read and validate one data file."""
    return validate_mapping(model, read_toml(path, error), str(path), error)
