"""The examples in the detectors' docstrings run, and pass: a model whose documented example broke is a broken model."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import detectors


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(detectors.__path__, "detectors."))


def test_every_model_documents_an_example() -> None:
    models = [m for m in _modules() if m.startswith("detectors.models.")]
    assert models, "no model modules found"
    for name in models:
        finder = doctest.DocTestFinder()
        examples = sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
        assert examples > 0, f"{name} has no doctest example"


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_pass(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
