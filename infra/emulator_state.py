"""The emulated AWS's state, kept across restarts of `make run`: every moto backend in use, pickled to a file.

`python -m infra.emulator --state FILE` restores FILE (if it exists) before it serves, saves it every
`SAVE_SECONDS` while anything changed, and once more when it stops (SIGTERM, SIGINT): a `kill -9` loses at
most the last few seconds. `make reset` deletes the file (`infra/local.py`).

Why pickling the backends: moto has no persistence of its own, and its recorder replays the requests it
saw, which makes new identifiers (a new user pool id, new KMS key ids): tokens issued before a restart and
the payout accounts' ciphertexts would no longer verify or decrypt. The backends are plain Python objects
holding everything moto knows, with their ids: Cognito's users with their passwords (moto signs tokens with
a key of its own that does not change, so a token issued before a restart is still good), DynamoDB's items,
S3's objects (moto's keys pickle their bytes themselves), SQS's queues and messages, KMS keys, SSM
parameters. Locks are not state: each comes back new and released.

The file is moto's own objects: it is read only by the same moto version (`MOTO_VERSION`); another version
starts empty, and says so.
"""

import importlib
import pickle
import sys
import threading
from collections import defaultdict
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SAVE_SECONDS = 5.0
_PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
_LOCKS = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _private_key(pem: bytes):
    return serialization.load_pem_private_key(pem, password=None)


class _MadeLike:
    """A defaultdict's default factory that was a lambda (`defaultdict(lambda: defaultdict(dict))`, which
    pickle cannot name): remade from what the lambda returns."""

    def __init__(self, made) -> None:
        self.kind, self.inner = type(made), getattr(made, "default_factory", None)

    def __call__(self):
        return self.kind(self.inner) if self.inner is not None else self.kind()


def _defaultdict(kind: type, factory):
    made = defaultdict.__new__(kind)
    made.default_factory = factory
    return made


class _Pickler(pickle.Pickler):
    """Locks come back new; private keys (KMS's, cryptography's objects) as their PEM; defaultdicts with their
    attributes (moto subclasses them, and defaultdict's own pickling drops a subclass's attributes)."""

    def reducer_override(self, obj):
        new_lock = _LOCKS.get(type(obj))
        if new_lock is not None:
            return new_lock, ()
        if isinstance(obj, defaultdict):
            factory = obj.default_factory
            if getattr(factory, "__name__", "") == "<lambda>":
                factory = _MadeLike(factory())
            return _defaultdict, (type(obj), factory), getattr(obj, "__dict__", None) or None, None, iter(obj.items())
        if isinstance(obj, _PRIVATE_KEYS):
            return _private_key, (obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()),)
        return NotImplemented


def _moto_version() -> str:
    import moto

    return moto.__version__


def _backend_dicts() -> dict[tuple[str, str], dict]:
    """Every moto BackendDict holding something, by (module, attribute) where moto keeps it."""
    from moto.core.base_backend import BackendDict

    found = {}
    for backends in list(BackendDict._instances):
        modules = [sys.modules.get(backends.backend.__module__)] + [
            module for name, module in list(sys.modules.items()) if name.startswith("moto.")]
        for module in modules:
            attribute = next((name for name, value in vars(module or object).items() if value is backends), None)
            if attribute is not None:
                found[(module.__name__, attribute)] = backends
                break
    return found


def snapshot(lock: threading.RLock) -> bytes:
    """The state of every backend in use, pickled (under `lock`, which serializes DynamoDB's writes: no
    transaction is half-applied in it). Other services change without a lock: a snapshot that met a change
    in the middle is taken again."""
    for attempt in range(5):
        with lock:
            state = {key: {account: dict(regions) for account, regions in backends.items()}
                     for key, backends in _backend_dicts().items()}
            try:
                buffer = _dumps({"moto": _moto_version(), "backends": state})
            except RuntimeError:  # a dict changed size while it was pickled
                if attempt == 4:
                    raise
                continue
        return buffer
    raise AssertionError("unreachable")


def _dumps(state: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    """Atomically: a crash while writing leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def restore(path: Path) -> str:
    """Put the backends saved in `path` in place (before the server answers anything); says what it did."""
    if not path.exists():
        return "no saved state: starting empty"
    try:
        state = pickle.loads(path.read_bytes())
    except Exception as error:  # noqa: BLE001 - a damaged file must not stop `make run`; it is said
        return f"the saved state in {path} could not be read ({error!r}): starting empty (make reset deletes it)"
    if state.get("moto") != _moto_version():
        return f"the saved state was written by moto {state.get('moto')}, this is {_moto_version()}: starting empty"
    for (module_name, attribute), accounts in state["backends"].items():
        backends = getattr(importlib.import_module(module_name), attribute)
        for account_id, regions in accounts.items():
            for region, backend in regions.items():
                dict.__setitem__(backends[account_id], region, backend)
    return f"restored the state saved in {path}"


class Keeper:
    """Saves the state to `path` every `every` seconds (`SAVE_SECONDS`) when it changed, and at `stop()`."""

    def __init__(self, path: Path, lock: threading.RLock, every: float | None = None) -> None:
        self.path, self.lock, self.every = path, lock, every or SAVE_SECONDS
        self.saved = path.read_bytes() if path.exists() else b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="emulator-state")

    def start(self) -> "Keeper":
        self._thread.start()
        return self

    def save(self) -> None:
        data = snapshot(self.lock)
        if data != self.saved:
            write(self.path, data)
            self.saved = data

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.save()
            except Exception as error:  # noqa: BLE001 - the next round tries again; stop() saves once more
                sys.stderr.write(f"saving the emulator's state failed: {error!r}\n")
                sys.stderr.flush()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.save()
