"""Where an offline script run sees its project: the same folder on every machine.

The SDK writes the script's own paths into what it builds: SDK v3 hashes a code file's absolute
path into its upload key, ``@step`` functions are pickled with their file names (and SDK v3
describes a ``@step`` by its file's path). So a translation made in ``/home/me/churn`` would
differ from one that CI makes in its own clone. Offline, pipeglot therefore copies the project
root to ``PROJECT`` (``/tmp/pipeglot/project``) and runs the script there: its ``__file__``,
``sys.path``, working directory and every path the SDK sees start with that folder, whatever the
checkout's own path. The child's messages (tracebacks, the local files of uploads) are mapped
back to the real paths. Concurrent runs take turns, holding a lock on the folder.

The project root is the checkout that holds the script (the folder with ``.git`` or ``.hg``):
CI clones the checkout, so a path inside it is the same there, and a script may read any file
of it (``../common/report.ipynb``). Outside a checkout, or when it holds over ``MAX_BYTES``, it
is the folder a ``python`` run puts on ``sys.path`` for the script's imports: the folder above
the script's top package (``pipelines/churn/pipeline.py`` inside the packages ``pipelines`` and
``pipelines.churn``: the folder holding ``pipelines``), or the script's own folder when it is in
no package. For a module reference, the same starts from the current folder. Hidden folders
(``.git``), ``__pycache__``, ``node_modules`` and virtual environments are not copied. A file
outside the root that the script reads keeps its real path. When the copy cannot be made (a
root over ``MAX_BYTES``, a ``/tmp/pipeglot`` that is another user's), the script runs in place
and the ledger says why. ``--online`` always runs in place.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeglot.errors import UsageError

ROOT = Path("/tmp/pipeglot")  # a literal path, not tempfile's: the same on every machine
PROJECT = ROOT / "project"
MAX_BYTES = 100 * 1024 * 1024
_SKIPPED = frozenset({"__pycache__", "node_modules"})
_CHECKOUT_MARKERS = (".git", ".hg")  # a folder, or a file (a git worktree, a submodule)


@dataclass(frozen=True, slots=True)
class Placement:
    """The project root on this machine, and where the child sees it."""

    real: Path
    seen: Path
    in_place_because: str | None = None  # why the child sees the real root, offline

    def inside(self, path: Path) -> Path:
        """Where the child sees ``path`` (a path outside the root stays as it is)."""
        try:
            return self.seen / path.relative_to(self.real)
        except ValueError:
            return path

    def back(self, text: str) -> str:
        """``text`` with the paths the child saw turned back into this machine's."""
        if self.seen == self.real:
            return text
        return re.sub(rf"{re.escape(str(self.seen))}(?![\w.-])", lambda _: str(self.real), text)


def project_root(script: Path | None) -> Path:
    """The checkout that holds the script (or, for a module, the current folder), when it is
    small enough to copy; else the folder above the script's top package, or the current one."""
    start = script.parent if script is not None else Path.cwd()
    checkout = next((f for f in (start, *start.parents) if _is_checkout(f)), None)
    if checkout is not None and checkout != Path(checkout.anchor) and _size(checkout) <= MAX_BYTES:
        return checkout
    if script is None:
        return start
    folder = start
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        folder = folder.parent
    return folder


def _is_checkout(folder: Path) -> bool:
    """The top of a working copy: CI clones it, so paths inside it are the same there."""
    return any((folder / marker).exists() for marker in _CHECKOUT_MARKERS)


@contextlib.contextmanager
def placed(root: Path, *, online: bool, wait: float) -> Iterator[Placement]:
    """A copy of ``root`` at PROJECT for the length of the run (offline), or ``root`` itself.
    Another run's copy is waited for ``wait`` seconds at most (a UsageError then)."""
    if online:
        yield Placement(root, root)
        return
    problem = _unusable(root)
    if problem is not None:
        yield Placement(root, root, problem)
        return
    with open(ROOT / "lock", "a") as lock:
        _lock(lock.fileno(), wait)
        try:
            _clear()
            yield _copied(root)
        finally:
            _clear()


def _lock(descriptor: int, wait: float) -> None:
    import fcntl

    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise UsageError(
                    f"another pipeglot run has held {ROOT / 'lock'} (for its copy of a project "
                    f"at {PROJECT}) for over {wait:g} seconds; run again when it has ended"
                ) from None
            time.sleep(0.1)


def _copied(root: Path) -> Placement:
    try:
        shutil.copytree(root, PROJECT, symlinks=True, ignore=_ignored)
    except OSError as error:  # shutil.Error too: a file that cannot be read, a socket
        _clear()
        problem = error.args[0][0][2] if isinstance(error, shutil.Error) else error.strerror
        return Placement(root, root, f"copying {root} failed: {problem}")
    return Placement(root, PROJECT)


def _unusable(root: Path) -> str | None:
    """Why the copy cannot be made, or None. ROOT is made private, and a ROOT that is not
    this user's own private folder is not used: another user could put code there."""
    if os.name != "posix":
        return f"{PROJECT} is a POSIX path"
    if root == ROOT or ROOT in root.parents:
        return f"the project already is inside {ROOT}"
    if (root / "__init__.py").is_file():  # a package under a name no import can spell
        return f"the project root {root} holds an __init__.py"
    with contextlib.suppress(FileExistsError):
        ROOT.mkdir(mode=0o700)
    try:
        status = ROOT.lstat()
    except OSError as error:
        return f"{ROOT} cannot be made ({error.strerror})"
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid():
        return f"{ROOT} is not a folder of your own"
    if status.st_mode & 0o022:
        return f"{ROOT} can be written by other users"
    size = _size(root)
    if size > MAX_BYTES:
        return f"the project root {root} holds {size // 2**20} MB (over {MAX_BYTES // 2**20} MB)"
    return None


def _size(root: Path) -> int:
    total = 0
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if not _skipped(Path(folder) / name)]
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(folder) / name).lstat().st_size
        if total > MAX_BYTES:
            break
    return total


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {
        name for name in names if _skipped(Path(folder) / name) or _special(Path(folder) / name)
    }


def _special(path: Path) -> bool:
    """A FIFO, socket or device: copying one would block or fail, and no script reads it."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return True
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _skipped(path: Path) -> bool:
    """Not the project's code: version control, caches, virtual environments, node modules."""
    if not path.is_dir() or path.is_symlink():
        return False
    return path.name.startswith(".") or path.name in _SKIPPED or (path / "pyvenv.cfg").is_file()


def _clear() -> None:
    if PROJECT.is_symlink() or PROJECT.is_file():
        PROJECT.unlink()
    elif PROJECT.exists():
        shutil.rmtree(PROJECT)
