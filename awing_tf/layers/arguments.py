"""Checks of layer constructor arguments, with errors naming the argument, value and type."""

from __future__ import annotations


def check_int(name: str, value: object, minimum: int = 1, multiple_of: int = 1) -> int:
    """``value`` if it is an int >= ``minimum`` divisible by ``multiple_of``, else
    ``ValueError`` naming ``name``, the value and its type."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum \
            or value % multiple_of:
        rule = "a positive int" if multiple_of == 1 and minimum == 1 else \
            f"an int >= {minimum}" + (f" divisible by {multiple_of}" if multiple_of > 1 else "")
        raise ValueError(f"{name} must be {rule}, got {value!r} ({type(value).__name__})")
    return value
