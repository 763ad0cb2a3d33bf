"""Reading inputs and writing outputs, with every failure turned into one clear message.

Inputs are read with a size limit (``/dev/zero`` or a runaway pipe must not fill the memory).
Outputs are written atomically: a reader sees the old file or the new one, never half. A set
of outputs (a folder translation) is all or nothing: every file is first written to a
temporary file next to its destination, and only when all of them are written (and no
destination is a folder) are they renamed into place; renames within a folder do not fail
for any other reason a user can cause. A temporary file never outlives the write, even on
SIGTERM (the CLI turns the signal into an exception, so the cleanup below runs).

An output path that is a symbolic link is written *through*: the file the link points to is
replaced and the link stays, which is also the file ``--check`` compares against.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeglot.errors import InputError, OutputError

MEGABYTE = 1024 * 1024
# The largest input read without --max-input-mb: a 10,000-step definition is about 40 MB.
DEFAULT_MAX_INPUT_MB = 100


# --- input ----------------------------------------------------------------------------------


def read_input(source: str, label: str, max_mb: float = DEFAULT_MAX_INPUT_MB) -> bytes:
    """The bytes of file ``source`` (``-``: standard input), at most ``max_mb`` megabytes."""
    limit = int(max_mb * MEGABYTE)
    try:
        if source == "-":
            data = _read_stdin(limit, label)
        else:
            with open(source, "rb") as stream:
                data = stream.read(limit + 1)
    except FileNotFoundError:
        raise InputError("no such file; check the path", source=label) from None
    except IsADirectoryError:
        raise InputError("this is a folder; only translate reads folders", source=label) from None
    except OSError as error:
        raise InputError(f"cannot read it: {_reason(error)}", source=label) from None
    if len(data) > limit:
        raise InputError(
            f"the input is larger than {max_mb:g} MB, the limit for one definition; "
            "pass --max-input-mb with a larger number if it really is a definition",
            source=label,
        )
    return data


def _read_stdin(limit: int, label: str) -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or sys.stdin.closed:
        raise InputError(
            "standard input is closed; pipe the definition in or pass a file", source=label
        )
    data: bytes = stream.read(limit + 1)
    return data


# --- output ---------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    write_all_atomic([(path, text)])


def write_all_atomic(outputs: Sequence[tuple[Path, str]]) -> None:
    """Write every ``(path, text)``, or (when one cannot be written) none of them."""
    staged: list[tuple[str, Path, Path]] = []
    try:
        for path, text in outputs:
            target = _destination(path)
            staged.append((_stage(target, text, path), target, path))
        for temporary, target, path in staged:
            try:
                os.replace(temporary, target)
            except OSError as error:
                raise _cannot_write(path, error) from None
    finally:  # after success the temporary files are gone; after a failure they must be
        for temporary, _, _ in staged:
            Path(temporary).unlink(missing_ok=True)


def _destination(path: Path) -> Path:
    """The file to replace: ``path`` itself, or the file it links to."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=False)
    except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
        raise OutputError(
            f"{path}: is a symbolic link that loops; point it at a file or remove it"
        ) from None


def _stage(target: Path, text: str, named: Path) -> str:
    """Write ``text`` to a new temporary file next to ``target``; return its path."""
    _make_folder(target.parent, named)
    if target.is_dir():  # found now, before any rename: the rename would fail half-way
        raise OutputError(f"{named}: is a folder, so no file can be written there; remove it")
    try:
        mode = _mode_for(target)
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise _cannot_write(named, error) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _cannot_write(named, error) from None
    except BaseException:  # SIGTERM (as an exception), KeyboardInterrupt, a bug
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def _cannot_write(path: Path, error: OSError) -> OutputError:
    hint = {
        errno.EACCES: "choose a folder you may write to",
        errno.EPERM: "choose a folder you may write to",
        errno.EROFS: "the file system is read-only; choose another folder",
        errno.ENOSPC: "the disk is full",
        errno.ENOENT: "its folder cannot be created here; choose another folder",
    }.get(error.errno or 0, "check the path")
    return OutputError(f"{path}: cannot write it: {_reason(error)}; {hint}")


def _make_folder(folder: Path, named: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"{named}: cannot create its folder, a file is in the way ({_blocking_file(folder)})"
        ) from None
    except OSError as error:
        raise _cannot_write(named, error) from None


def _blocking_file(folder: Path) -> Path:
    """The first part of ``folder`` that exists and is not a folder."""
    for part in reversed([folder, *folder.parents]):
        if part.exists() and not part.is_dir():
            return part
    return folder


def _mode_for(path: Path) -> int:
    """Keep an existing file's mode; give a new one the mode ``open`` would (0666 & ~umask)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# --- comparing (--check) --------------------------------------------------------------------


def read_text_if_exists(path: Path) -> str | None:
    """The output's text for ``--check``; None when it does not exist.

    A file that is not UTF-8 cannot equal a translation, so its text is given with the bad
    bytes replaced (it then compares as stale); a file that cannot be read is an error.
    """
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise OutputError(f"{path}: is a folder; name the output file") from None
    except OSError as error:
        raise OutputError(f"{path}: cannot read it to compare: {_reason(error)}") from None


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link loops"
    return (error.strerror or str(error)).lower()
