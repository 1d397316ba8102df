"""Writing a user's files safely: whole or not at all, never through a planted link, never over an input.

Every file learnable writes at a path a user chose (predictions, plots, reports, GIFs, model files,
checkpoints) goes through :func:`write_atomically`:

1. a new temporary file is created beside the target under a random name with
   ``O_CREAT | O_EXCL | O_NOFOLLOW``: the call fails on *anything* already at that name, a symlink
   included, so a link planted at a guessable name (``.pred.csv.tmp``) is never followed;
2. the content is written, flushed and fsynced;
3. ``os.replace`` moves it over the target in one step (a symlink *at* the target is replaced by the
   new file; the file it pointed to is left alone), then the folder is fsynced so the rename survives
   a power cut;
4. on any failure the temporary file is removed and the target is as it was.

:func:`learnable.utils.validation.check_output_path` refuses, before any work, an output that is one
of the command's inputs, by any name: the same path, a symlink to it, or a hard link.

Example:
    >>> path = write_atomically("/tmp/learnable-example.txt", "hello\\n")
    >>> path.read_text()
    'hello\\n'
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Union

Content = Union[bytes, str, Callable[[BinaryIO], object]]  # noqa: UP007 - evaluated at import on Python 3.10

_CREATE = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
           | getattr(os, "O_BINARY", 0))
_FIXES = {
    errno.EACCES: "the folder is not writable: choose another path, or change the folder's permissions",
    errno.EPERM: "the folder is not writable: choose another path, or change the folder's permissions",
    errno.EROFS: "the file system is read-only: choose a path on a writable disk",
    errno.ENOSPC: "the disk is full: free some space, or choose a path on another disk",
    errno.EDQUOT: "the disk quota is used up: free some space, or choose a path on another disk",
}
# a folder that cannot be opened for reading (EACCES, EPERM) or synced (EINVAL, ENOTSUP): its fsync is skipped
_UNSYNCABLE = (errno.EACCES, errno.EPERM, errno.EINVAL, errno.ENOTSUP)
_NAME_BYTES = 150  # of the target's name in a temporary one: most file systems allow 255 bytes a name


def _error(path: Path, error: OSError) -> OSError:
    """``error`` restated for the user: which file, what went wrong, that it is unchanged, how to fix it.

    Raised ``from error``, so a caller that words its own message finds the disk's words in ``__cause__``.
    """
    fix = _FIXES.get(error.errno, "check the path and the disk, then try again")
    message = (f"cannot write '{path}': {error.strerror or error}. The file is unchanged and nothing was left "
               f"behind; {fix}.")
    return OSError(message) if error.errno is None else OSError(error.errno, message)  # errno: keeps the subclass


def _create_temporary(path: Path) -> tuple[Path, int]:
    """A new empty file beside ``path`` under a name no one else holds, opened for writing.

    Its permissions follow the umask, as for any new file (``mkstemp`` would give 0600).
    """
    stem = _cut_name(path.name, _NAME_BYTES)
    for _ in range(100):
        temporary = path.with_name(f".{stem}.{secrets.token_hex(6)}.tmp")
        try:
            return temporary, os.open(temporary, _CREATE, 0o666)
        except FileExistsError:  # a file or a link already there: never touch it, pick another name
            continue
    raise FileExistsError(errno.EEXIST, f"could not find a free temporary name beside '{path}'; clear out the "
                                        f"'.{path.name}.*.tmp' files in '{path.parent}'.")


def _cut_name(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes of UTF-8 (file systems count a name's bytes), at a character.

    Example:
        >>> _cut_name("日本語.csv", 7)
        '日本'
    """
    size = 0
    for index, character in enumerate(name):
        size += len(os.fsencode(character))  # its bytes as the file system stores them: 3 for 日
        if size > limit:
            return name[:index]
    return name


def _write(descriptor: int, content: Content) -> None:
    with os.fdopen(descriptor, "wb") as handle:
        if callable(content):
            content(handle)
        else:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def staged_file(path: str | Path, content: Content) -> Iterator[Path]:
    """Write ``content`` to a new temporary file beside ``path`` (fsynced) and yield its path.

    For a caller that moves several files into place together (a model's weights and its JSON):
    ``os.replace(temporary, path)`` inside the block; whatever is still at the temporary name on exit
    is removed. ``content`` is bytes, text (written as UTF-8), or a callable given the binary handle.

    Example:
        >>> with staged_file("/tmp/learnable-staged.txt", b"new") as temporary:
        ...     os.replace(temporary, "/tmp/learnable-staged.txt")
        >>> Path("/tmp/learnable-staged.txt").read_bytes()
        b'new'
    """
    path = Path(path)
    if not (isinstance(content, (bytes, bytearray, memoryview, str)) or callable(content)):
        raise TypeError(f"content must be bytes, str or a callable taking a binary handle; got "
                        f"{type(content).__name__}.")
    try:
        temporary, descriptor = _create_temporary(path)
    except OSError as error:
        raise _error(path, error) from error
    try:
        try:
            _write(descriptor, content)
        except OSError as error:
            raise _error(path, error) from error
        yield temporary
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # still there only if it was not moved into place


def write_atomically(path: str | Path, content: Content) -> Path:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one, never half.

    ``content``: bytes, text (written as UTF-8), or a callable that writes to the binary handle it
    is given (``lambda handle: figure.savefig(handle, format="png")``). A symlink at ``path`` is
    replaced, not followed. On failure ``path`` is unchanged, no temporary file is left, and the
    error (an ``OSError`` for the file system) names ``path`` and how to fix it.

    Example:
        >>> write_atomically("/tmp/learnable-atomic.csv", lambda handle: handle.write(b"a,b\\n1,2\\n")).name
        'learnable-atomic.csv'
    """
    path = Path(path)
    with staged_file(path, content) as temporary:
        move_into_place(temporary, path)
    fsync_directory(path.parent)
    return path


def move_into_place(temporary: str | Path, path: str | Path) -> None:
    """``os.replace(temporary, path)``, with an error that names ``path`` and says how to fix it.

    Example:
        >>> with staged_file("/tmp/learnable-moved.txt", "x") as temporary:
        ...     move_into_place(temporary, "/tmp/learnable-moved.txt")
    """
    try:
        os.replace(temporary, path)
    except OSError as error:
        raise _error(Path(path), error) from error


def fsync_directory(directory: str | Path) -> None:
    """Flush a folder's entries (new names, renames) to disk, so they survive a power cut.

    Best effort where it cannot be done: a folder that may be written but not read (mode 0o333) cannot
    be opened, and some file systems cannot sync a folder; the rename itself has happened either way.

    Example:
        >>> fsync_directory("/tmp")
    """
    if os.name == "nt":  # Windows cannot open a folder as a file; NTFS journals renames itself
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as error:
        if error.errno not in _UNSYNCABLE:
            raise
        return
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in _UNSYNCABLE:
            raise
    finally:
        os.close(descriptor)


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of the file at ``path`` as hex, read 1 MB at a time (a model's weights can be gigabytes).

    Example:
        >>> _ = write_atomically("/tmp/learnable-hash.txt", b"abc")
        >>> sha256_file("/tmp/learnable-hash.txt")[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether both paths exist and are one file: the same path, a symlink to it, or a hard link.

    Example:
        >>> same_file("/tmp", "/tmp/.")
        True
    """
    return os.path.exists(first) and os.path.exists(second) and os.path.samefile(first, second)
