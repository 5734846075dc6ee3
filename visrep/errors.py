"""Errors about a value a user gave (a config field or a constructor
argument), raised with a message that names it and the fix.

The tools (``visrep.cli.common.run_cli``) print these without a traceback
and exit 2; any other exception keeps its traceback, since it is a bug.
Each class is also a ``ValueError``/``TypeError``, so ``except ValueError``
code keeps working.
"""


class ArgumentError(Exception):
    """A constructor argument or config field is invalid; the message names
    it and says what to give instead."""


class ArgumentValueError(ArgumentError, ValueError):
    """An argument has the right type but a value outside its range."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument has the wrong type (e.g. a bool or float for an int)."""
