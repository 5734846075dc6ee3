"""Config syntax errors that name the file they are in.

mmengine 0.10.7 first parses every config file of an inheritance chain with
``ast.parse(text)`` (``Config._is_lazy_import``; ``_parse_lazy_import`` for
``read_base()`` configs) without passing the file name, so a syntax error --
also one in a ``_base_`` file -- reports ``File "<unknown>", line N``.  The
patch gives those ``SyntaxError`` s the real path (the traceback then shows
the file, the line and a caret under the error) and says what to fix.  Every
other answer is mmengine's own.
"""
import functools
import os.path as osp
from typing import Callable

_UNKNOWN = (None, '<unknown>', '<string>')


class ConfigSyntaxError(SyntaxError):
    """A syntax error in a config file, naming the file and line (the
    tools print it without a traceback and exit 2)."""


def named_syntax_error(error: SyntaxError, filename: str) -> SyntaxError:
    """``error`` with ``filename`` as its file (a :class:`ConfigSyntaxError`
    with the same line, column and text, chained to the original)."""
    path = osp.abspath(osp.expanduser(filename))
    message = (f'{error.msg} in config file {path}, line {error.lineno}: '
               'fix the Python syntax of that line (or of the bracket/quote '
               'opened before it)')
    named = ConfigSyntaxError(message, (path, error.lineno, error.offset,
                                  error.text, error.end_lineno,
                                  error.end_offset))
    named.__cause__ = error
    return named


def _naming_file(parse: Callable) -> Callable:
    """Wrap a ``Config`` static method whose first argument is the file."""

    @functools.wraps(parse)
    def wrapper(filename, *args, **kwargs):
        try:
            return parse(filename, *args, **kwargs)
        except SyntaxError as error:
            if error.filename not in _UNKNOWN:
                raise  # already names its file (e.g. a nested _base_)
            raise named_syntax_error(error, str(filename)) from error

    wrapper.__visrep_patched__ = True
    return wrapper


def install() -> None:
    from mmengine.config import Config

    for name in ('_is_lazy_import', '_parse_lazy_import'):
        original = getattr(Config, name)
        if getattr(original, '__visrep_patched__', False):
            continue
        setattr(Config, name, staticmethod(_naming_file(original)))


install()
