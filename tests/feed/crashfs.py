"""What a power cut can leave on the disk: the file operations recorded, every crash state replayed.

A process dying between two calls is not a power cut: the kernel still writes back everything it
was told.  After a power cut, what reached the disk is only what was made durable — file data by
an `fsync` of the file, directory entries (a file created, renamed or removed) by an `fsync` of
the directory — plus any part of the rest.  `Recorder` runs the real calls on a real directory
and logs them; `crash_states(before, log[:k])` then yields every disk the power going after the
k-th call may leave, under these (POSIX, no more) guarantees:

* a file's unsynced writes may be lost, the last ones first (the data reaches the disk in order,
  or not at all: a file's contents are a prefix of what was written, from its last fsync on);
* each unsynced directory operation may be lost, independently of the others — a rename of one
  file may reach the disk while an earlier rename of another does not.

Only a fake `os` for the module under test (`Recorder.os`) records; everything else is real.
"""

from __future__ import annotations

import itertools
import os
import stat
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Op:
    kind: str  # "create", "truncate", "write", "fsync_file", "rename", "unlink", "fsync_dir"
    path: str = ""  # the file (create, truncate, write, fsync_file, unlink) or the rename's source
    target: str = ""  # the rename's target
    data: bytes = b""
    offset: int = 0


@dataclass
class Recorder:
    """Records `os.open/write/fsync/close/replace/unlink` made through `self.os`, and makes them for real."""

    log: list[Op] = field(default_factory=list)
    _open: dict[int, tuple[str, bool, int]] = field(default_factory=dict)  # fd → (path, is_dir, position)

    @property
    def os(self) -> types.SimpleNamespace:
        fake = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
        fake.open, fake.write, fake.fsync = self._do_open, self._do_write, self._do_fsync
        fake.close, fake.replace, fake.unlink = self._do_close, self._do_replace, self._do_unlink
        return fake

    def _do_open(self, path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        name = os.fspath(path)
        existed = os.path.exists(name)
        fd = os.open(name, flags, mode, **kw)
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        if not is_dir:
            if flags & os.O_CREAT and not existed:
                self.log.append(Op("create", name))
            elif flags & os.O_TRUNC:
                self.log.append(Op("truncate", name))
        self._open[fd] = (name, is_dir, 0)
        return fd

    def _do_write(self, fd: int, data: Any) -> int:
        written = os.write(fd, data)
        name, is_dir, position = self._open[fd]
        self.log.append(Op("write", name, data=bytes(data[:written]), offset=position))
        self._open[fd] = (name, is_dir, position + written)
        return written

    def _do_fsync(self, fd: int) -> None:
        os.fsync(fd)
        name, is_dir, _ = self._open[fd]
        self.log.append(Op("fsync_dir" if is_dir else "fsync_file", name))

    def _do_close(self, fd: int) -> None:
        os.close(fd)
        self._open.pop(fd, None)

    def _do_replace(self, src: Any, dst: Any) -> None:
        os.replace(src, dst)
        self.log.append(Op("rename", os.fspath(src), os.fspath(dst)))

    def _do_unlink(self, path: Any, **kw: Any) -> None:
        os.unlink(path, **kw)
        self.log.append(Op("unlink", os.fspath(path)))


def _directory_op(op: Op) -> bool:
    return op.kind in ("create", "rename", "unlink")


def _durable(ops: list[Op]) -> list[bool]:
    """Which ops a later fsync (of the file, or of its directory) certainly made durable."""
    made = [False] * len(ops)
    inode_of: dict[str, int] = {}  # path → the index of the create that made the file now there
    inodes: list[int] = []  # for each op: the file (by its create's index, or its path's hash) it concerns
    for i, op in enumerate(ops):
        if op.kind == "create":
            inode_of[op.path] = i
        inodes.append(inode_of.get(op.path, hash(op.path)))
        if op.kind == "rename" and op.path in inode_of:
            inode_of[op.target] = inode_of.pop(op.path)
    for i, op in enumerate(ops):
        if op.kind == "fsync_file":
            for j in range(i):
                if ops[j].kind in ("truncate", "write", "create") and inodes[j] == inodes[i]:
                    made[j] = made[j] or ops[j].kind != "create"  # the data; its name is the directory's
        elif op.kind == "fsync_dir":
            for j in range(i):
                if _directory_op(ops[j]) and os.path.dirname(ops[j].target or ops[j].path) == op.path:
                    made[j] = True
        if op.kind.startswith("fsync"):
            made[i] = True
    return made


def crash_states(before: dict[str, bytes], ops: list[Op]) -> Iterator[dict[str, bytes]]:
    """Every disk (path → contents) the power going after `ops` may leave, starting from `before`."""
    made = _durable(ops)
    uncertain = [i for i, op in enumerate(ops) if not made[i] and op.kind != "fsync_file" and op.kind != "fsync_dir"]
    dir_ops = [i for i in uncertain if _directory_op(ops[i])]
    data_ops = [i for i in uncertain if not _directory_op(ops[i])]
    # data: for each file, its unsynced writes persist as a prefix (0..n of them, in order)
    by_file: dict[str, list[int]] = {}
    for i in data_ops:
        by_file.setdefault(_file_of(ops, i), []).append(i)
    data_choices = [[set(idx[:n]) for n in range(len(idx) + 1)] for idx in by_file.values()]
    seen: set[tuple[tuple[str, bytes], ...]] = set()
    for kept_dirs in itertools.product((False, True), repeat=len(dir_ops)):
        dropped = {i for i, keep in zip(dir_ops, kept_dirs, strict=True) if not keep}
        for data_kept in itertools.product(*data_choices) if data_choices else [()]:
            kept_data = set().union(*data_kept) if data_kept else set()
            dropped_all = dropped | {i for i in data_ops if i not in kept_data}
            state = _replay(before, ops, dropped_all)
            if state is None:
                continue
            key = tuple(sorted(state.items()))
            if key not in seen:
                seen.add(key)
                yield state


def _file_of(ops: list[Op], index: int) -> str:
    """The file a data op wrote: named by the create (or the path) it was written through."""
    path = ops[index].path
    for j in range(index, -1, -1):
        if ops[j].kind == "create" and ops[j].path == path:
            return f"{j}:{path}"
    return path


def _replay(before: dict[str, bytes], ops: list[Op], dropped: set[int]) -> dict[str, bytes] | None:
    """The disk after `ops` minus `dropped`, or None if that order cannot be (a rename of a file never created)."""
    names: dict[str, int] = {}  # path → inode
    contents: dict[int, bytearray] = {}
    for n, (path, data) in enumerate(before.items()):
        names[path], contents[-1 - n] = -1 - n, bytearray(data)
    # the inode each op touches, following the real (complete) history
    real: dict[str, int] = dict(names)
    inode_at: list[int | None] = []
    for i, op in enumerate(ops):
        if op.kind == "create":
            real[op.path] = i
        inode_at.append(real.get(op.path))
        if op.kind == "rename" and op.path in real:
            real[op.target] = real.pop(op.path)
        elif op.kind == "unlink":
            real.pop(op.path, None)
    for i, op in enumerate(ops):
        if i in dropped or op.kind.startswith("fsync"):
            continue
        inode = inode_at[i]
        if op.kind == "create":
            names[op.path] = i
            contents.setdefault(i, bytearray())
        elif op.kind == "truncate" and inode is not None:
            contents.setdefault(inode, bytearray()).clear()
        elif op.kind == "write" and inode is not None:
            buf = contents.setdefault(inode, bytearray())
            buf[op.offset:op.offset + len(op.data)] = op.data
        elif op.kind == "rename":
            if names.get(op.path) != inode:
                return None  # its source never reached the disk under that name
            names[op.target] = names.pop(op.path)
        elif op.kind == "unlink":
            if names.get(op.path) != inode:
                return None
            del names[op.path]
    return {path: bytes(contents.get(inode, bytearray())) for path, inode in names.items()}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in directory.iterdir() if p.is_file()}


def materialise(state: dict[str, bytes], directory: Path, into: Path) -> Path:
    """Write a crash state of `directory` into the empty directory `into` (same file names)."""
    into.mkdir(parents=True)
    for path, data in state.items():
        if os.path.dirname(path) == str(directory):
            (into / os.path.basename(path)).write_bytes(data)
    return into
