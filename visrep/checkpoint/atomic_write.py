"""Write a file so that its name never holds a partial file.

The data go to a temporary file in the same directory (same file system),
which is flushed, ``fsync``-ed and then renamed over the final name with
``os.replace`` (atomic on POSIX and Windows).  A process killed mid-write
leaves at most a hidden ``.<name>.<random>.tmp`` file next to the previous
version; the final name holds the old file or the complete new one.
"""
import os
import os.path as osp
import tempfile
from typing import Union


def atomic_write_bytes(data: Union[bytes, bytearray, memoryview],
                       path: str) -> None:
    """Write ``data`` to ``path`` atomically (see the module doc); the
    directory is created if missing."""
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the usual umask mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(text: str, path: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(text.encode('utf-8'), path)
