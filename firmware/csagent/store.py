"""Crash-safe, wear-aware key-value store: the device model lives in it.

A commit is atomic (after a power cut all of it or none) and durable when
commit() returns (B05: an Accepted value is already in flash).

Files in the store directory:
  base     base log: a version header, a snapshot of the whole state, then
           the folds appended since.
  base.new the next generation of the base log while it is written; renamed
           over base (atomic on littlefs and POSIX) once complete.
  j0..j31  journal slots: commit number n is the single record in slot n % 32.
Every line is `crc32-hex json\\n`; a record is {"c": {key: value or null}},
and the last record of a snapshot or fold also carries "s", the number of
the last commit it covers.

Why slots? Measured with bench/store.py, littlefs v2 on 4 KB blocks:
- appending one record per change to a log file costs 1.02 erases per
  change, whether the file is reopened each time or kept open and flushed:
  every sync makes littlefs copy the partly used last block to a new one.
- rewriting one JSON file per change (temp, rename): ~2 erases per change.
- rewriting a file small enough to live inline in its directory's metadata
  (128 bytes at progsize 32, the ESP32 default; 512 at 256, RP2040) erases
  nothing: littlefs appends a commit to the metadata log and compacts that
  (one erase) every ~20 commits at progsize 32, ~10 at 256.
So a commit rewrites one slot: one littlefs commit, all or nothing. Every 32
commits the changed keys are folded into the base log with one append (one
block copy); a new generation of it is written only when it outgrew twice
the state plus 4 KB. Result: 0.09 erases per single-variable change at
progsize 32, 0.14 at 256. A commit whose record outgrows the inline size
(key and value together beyond ~95 characters at progsize 32) costs one
more erase.

Loading replays the base, stopping at the first torn or corrupt line (then
writes a fresh generation so nothing is ever appended after garbage), then
the slots in order while each holds the next commit number with a valid
CRC. A slot left over beyond that stop with a later commit number (an
earlier slot rotted) is never replayed: the numbering skips past it, kept
in a new generation. So the state is always a prefix of what was
committed. A line whose CRC holds but whose shape is not the store's (a
tool's, another firmware's) is a StoreError. Loading streams line by line:
RAM holds the key -> value dict, one line.
"""
from .compat import borrow
from .store_files import SLOTS, State, StoreError, sync, write_line  # noqa: F401  (SLOTS, StoreError: the store's names for callers)


class Store:
    def __init__(self, directory):
        self._state = self._base_log("load", State(directory))

    def get(self, key, default=None):
        return self._state.data.get(key, default)

    def items(self):
        return self._state.data.items()

    def __len__(self):
        return len(self._state.data)

    def commit(self, changes):
        """Apply {key: str value, or None to delete}; writes only what changed."""
        state = self._state
        if state.directory is None:
            raise StoreError("store is closed")
        delta = {}
        for key, value in changes.items():
            if value is None:
                if key in state.data:
                    delta[key] = None
            elif not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("store keys and values are str")
            elif state.data.get(key) != value:
                delta[key] = value
        if not delta:
            return
        if state.seq - state.base_seq >= SLOTS:
            self._state = state = self._base_log("fold", state)
        seq = state.seq + 1
        with open(state.slot(seq), "wb") as f:
            write_line(f, {"s": seq, "c": delta})
            sync(f)
        state.apply(delta)
        state.pending.update(delta)
        state.seq = seq

    def close(self):
        """Nothing stays open between commits; this drops the state from RAM."""
        self._state = State(None)

    @staticmethod
    def _base_log(step, state):
        """store_base.load or .fold of the state, its code loaded for it only."""
        return borrow("csagent.store_base", step, state)
