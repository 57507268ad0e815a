"""Exercise library: strict schema, loader and the human-edited data files.

The bottom of the dependency graph: imports only pydantic and PyYAML.
"""

from exercise_library.library import Library, LibraryError, Prescribed
from exercise_library.loader import DEFAULT_ROOT, get_library, load_library
from exercise_library.schema import Exercise, Instrument, PlanTemplate

__all__ = [
    "DEFAULT_ROOT",
    "Exercise",
    "Instrument",
    "Library",
    "LibraryError",
    "PlanTemplate",
    "Prescribed",
    "get_library",
    "load_library",
]
