"""Build llama.cpp's own ``llama-server`` from the sources the pinned llama-cpp-python vendors.

The embedded models are served by one ``llama-server`` per host and model,
shared by every process, and this is the one place llama.cpp is compiled. Its
source is pinned with the project: the ``llama-cpp-python`` sdist that
``uv.lock`` locks (in a dependency group nothing installs) vendors llama.cpp
(``vendor/llama.cpp``), built here with portable flags. The sdist is taken from
uv's cache when uv left it unpacked there (the revision uv recorded with the
lock's SHA-256), else downloaded from the lock's URL and checked against the
lock's size and SHA-256.
Only ``vendor/llama.cpp`` is extracted, into a folder inside the virtualenv,
and only the ``llama-server`` target is built (static, no curl, no OpenSSL, no
web UI download); the binary is installed beside the interpreter. Beside the
sources, the sdist's own JSON-schema-to-grammar converter
(``llama_cpp/llama_grammar.py``, pure Python) is kept in the same folder
(``converter_at``): the factory turns each schema into the grammar the server
samples with by it, as it always has.

A stamp records the sdist's SHA-256 and the cmake arguments, so a second run
with the same stamp and binary returns at once: ``make setup`` stays idempotent.
Run as ``python -m devfactory.models.server_build``.

Why one module: finding the pinned sources, checking them, building the one target and
stamping the result are one build step that ``make setup`` runs as a script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import httpx

PACKAGE: Final = "llama-cpp-python"
"""The locked package whose sdist vendors llama.cpp."""
BINARY: Final = "llama-server"
"""The installed binary's name, beside the interpreter."""
BUILD_FOLDER: Final = ".llama-server-build"
"""The folder inside the virtualenv that holds the sources, the build tree and the stamp."""
VENDORED: Final = ("vendor", "llama.cpp")
"""Where llama.cpp lies inside the sdist, below its top folder."""
SERVER_LISTS: Final = ("tools", "server", "CMakeLists.txt")
"""A file every vendored llama.cpp with a server has: how a source tree is recognised."""
CONVERTER: Final = ("llama_cpp", "llama_grammar.py")
"""The sdist's JSON-schema-to-grammar converter, below its top folder (pure Python)."""
DOWNLOAD_TIMEOUT_S: Final = 60.0
"""Seconds without progress before a download of the sdist gives up."""

# Everything the server does not need is off, and nothing is fetched while building:
# the web UI's prebuilt assets would otherwise be downloaded from Hugging Face.
FIXED_OPTIONS: Final = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
_NATIVE_OPTION = re.compile(r"^-DGGML_NATIVE(:\w+)?=")


class ServerBuildError(RuntimeError):
    """The server cannot be built; the message is one line that says why."""


@dataclass(frozen=True)
class Sdist:
    """The pinned sdist, as ``uv.lock`` records it."""

    version: str
    url: str
    sha256: str
    size: int

    @property
    def build_label(self) -> str:
        """Name the build in ``llama-server --version`` (the sources carry no git commit)."""
        return f"{PACKAGE}-{self.version}"


def pinned_sdist(lock_text: str, package: str = PACKAGE) -> Sdist:
    """Read the pinned sdist's version, URL, SHA-256 and size from a ``uv.lock`` text."""
    try:
        lock = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError as exc:
        raise ServerBuildError(f"uv.lock is not valid TOML: {exc}") from exc
    entries = [p for p in lock.get("package", []) if p.get("name") == package]
    if len(entries) != 1:
        raise ServerBuildError(f"uv.lock pins {len(entries)} versions of {package}, not one")
    entry = entries[0]
    sdist = entry.get("sdist") or {}
    algorithm, _, digest = str(sdist.get("hash", "")).partition(":")
    if not sdist.get("url") or algorithm != "sha256" or not sdist.get("size"):
        raise ServerBuildError(f"uv.lock gives no sdist URL, sha256 and size for {package}")
    return Sdist(version=entry["version"], url=sdist["url"], sha256=digest, size=sdist["size"])


def cmake_arguments(cmake_args: str, sdist: Sdist, generator: str = "Ninja") -> list[str]:
    """Return the configure arguments: the caller's ``CMAKE_ARGS`` plus the server's options.

    ``CMAKE_ARGS`` (the Makefile's portable AVX2 flags) is kept as given. Where it
    leaves ``GGML_NATIVE`` unset, it is turned off: llama.cpp's default would
    compile for this machine's CPU only (``-march=native``).
    """
    chosen = shlex.split(cmake_args)
    arguments = ["-G", generator, *chosen]
    if not any(_NATIVE_OPTION.match(argument) for argument in chosen):
        arguments.append("-DGGML_NATIVE=OFF")
    arguments += [
        *FIXED_OPTIONS,
        "-DLLAMA_BUILD_NUMBER=0",
        f"-DLLAMA_BUILD_COMMIT={sdist.build_label}",
    ]
    return arguments


def cmake_generator() -> str:
    """Choose Ninja where it is installed; else make, which the setup needs anyway."""
    return "Ninja" if shutil.which("ninja") else "Unix Makefiles"


def stamp_for(sdist: Sdist, arguments: list[str]) -> dict[str, object]:
    """Describe a build: the sdist it came from and how it was configured."""
    return {"sdist_sha256": sdist.sha256, "cmake_args": arguments}


def up_to_date(stamp: Path, expected: dict[str, object], binary: Path) -> bool:
    """Say whether ``binary`` exists and was built as ``expected`` describes."""
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return False
    try:
        return bool(json.loads(stamp.read_text()) == expected)
    except (OSError, ValueError):
        return False


def installed_at() -> Path:
    """Return where ``make setup`` installs ``llama-server``: beside the interpreter."""
    return Path(sys.executable).parent / BINARY


def converter_at(venv: Path | None = None) -> Path:
    """Return where ``make setup`` keeps the sdist's grammar converter, in the virtualenv."""
    return (venv or Path(sys.prefix)) / BUILD_FOLDER / CONVERTER[-1]


def server_binary() -> Path | None:
    """Return the ``llama-server`` installed beside the interpreter, when it is executable."""
    binary = installed_at()
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def default_uv_cache() -> Path:
    """Return uv's cache folder as uv resolves it: ``UV_CACHE_DIR``, else the XDG cache."""
    if os.environ.get("UV_CACHE_DIR"):
        return Path(os.environ["UV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uv"


def cached_source(cache: Path, sdist: Sdist) -> Path | None:
    """Find the sdist's ``vendor/llama.cpp`` that uv left unpacked in its cache.

    uv unpacks a registry sdist into ``sdists-v*/pypi/<name>/<version>/<revision>/src``
    and records, in ``revision.http``, the current revision's id beside the hashes
    it verified. A revision is taken only when that record holds the lock's SHA-256
    (the converter is beside it, ``src/llama_cpp``).
    """
    for version_dir in sorted(cache.glob(f"sdists-v*/pypi/{PACKAGE}/{sdist.version}")):
        try:
            record = (version_dir / "revision.http").read_bytes()
        except OSError:
            continue
        if sdist.sha256.encode() not in record:
            continue
        for revision in sorted(version_dir.iterdir()):
            source = revision.joinpath("src", *VENDORED)
            if revision.name.encode() in record and source.joinpath(*SERVER_LISTS).is_file():
                return source
    return None


def verify_archive(path: Path, sdist: Sdist) -> None:
    """Refuse an archive whose size or SHA-256 differs from what ``uv.lock`` pins."""
    size = path.stat().st_size
    if size != sdist.size:
        raise ServerBuildError(
            f"{path.name} is {size} bytes, uv.lock pins {sdist.size}: refusing it"
        )
    with path.open("rb") as archive:
        digest = hashlib.file_digest(archive, "sha256").hexdigest()
    if digest != sdist.sha256:
        raise ServerBuildError(
            f"{path.name} has sha256 {digest}, uv.lock pins {sdist.sha256}: refusing it"
        )


def download(sdist: Sdist, target: Path, client: httpx.Client) -> Path:
    """Download the sdist to ``target`` and check it against the lock before keeping it."""
    partial = target.with_name(target.name + ".partial")
    try:
        with client.stream("GET", sdist.url) as response:
            response.raise_for_status()
            with partial.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise ServerBuildError(f"cannot download {sdist.url}: {exc}") from exc
    try:
        verify_archive(partial, sdist)
    except ServerBuildError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def extract_vendored(archive: Path, target: Path) -> Path:
    """Extract only the sdist's ``vendor/llama.cpp`` into ``target`` (which must not exist)."""
    members = []
    with _open_tar(archive) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if len(parts) <= 3 or parts[1:3] != VENDORED:
                continue
            member.name = "/".join(parts[3:])
            if member.islnk():
                link = PurePosixPath(member.linkname).parts
                member.linkname = "/".join(link[3:])
            members.append(member)
        if not members:
            raise ServerBuildError(f"{archive.name} holds no {'/'.join(VENDORED)}")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            tar.extractall(partial, members=members, filter="data")
        except tarfile.TarError as exc:
            raise ServerBuildError(f"cannot extract {archive.name}: {exc}") from exc
    partial.replace(target)
    return target


def extract_converter(archive: Path, target: Path) -> Path:
    """Extract only the sdist's grammar converter (``CONVERTER``) to the file ``target``."""
    with _open_tar(archive) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if parts[1:] == CONVERTER and member.isfile():
                found = tar.extractfile(member)
                if found is None:
                    break
                partial = target.with_name(target.name + ".partial")
                partial.write_bytes(found.read())
                partial.replace(target)
                return target
    raise ServerBuildError(f"{archive.name} holds no {'/'.join(CONVERTER)}")


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except tarfile.TarError as exc:
        raise ServerBuildError(f"{archive.name} is not a gzipped tar: {exc}") from exc


def _say(message: str) -> None:
    print(f"{BINARY}: {message}", flush=True)


def _sources(root: Path, sdist: Sdist, cache: Path, *, llama_cpp: bool = True) -> Path:
    """Put the sdist's llama.cpp in ``root/src`` and its converter beside it.

    From uv's cache, else the registry; with ``llama_cpp`` off, the converter alone.
    """
    source, converter = root / "src", root / CONVERTER[-1]
    cached = cached_source(cache, sdist)
    if cached is not None:
        _say(f"llama.cpp sources from uv's cache ({PACKAGE} {sdist.version})")
        shutil.copyfile(cached.parents[1].joinpath(*CONVERTER), converter)
        if llama_cpp:
            shutil.rmtree(source, ignore_errors=True)
            partial = source.with_name("src.partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(cached, partial, symlinks=True)
            partial.replace(source)
        return source
    _say(f"downloading {PACKAGE} {sdist.version} ({sdist.size / 1e6:.0f} MB) from {sdist.url}")
    archive = root / PurePosixPath(sdist.url).name
    timeout = httpx.Timeout(DOWNLOAD_TIMEOUT_S)
    with httpx.Client(follow_redirects=True, timeout=timeout) as client:
        download(sdist, archive, client)
    try:
        extract_converter(archive, converter)
        if llama_cpp:
            shutil.rmtree(source, ignore_errors=True)
            extract_vendored(archive, source)
        return source
    finally:
        archive.unlink(missing_ok=True)


def _run(command: list[str], log: Path, what: str) -> None:
    # Children of git walk up to the enclosing repository (the project's, around the
    # virtualenv) and would stamp its commit into llama.cpp's build info.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(log.parent)}
    with log.open("a") as out:
        out.write(f"$ {shlex.join(command)}\n")
        out.flush()
        try:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        except FileNotFoundError as exc:
            raise ServerBuildError(f"{command[0]} is not installed; {what} needs it") from exc
    if done.returncode != 0:
        raise ServerBuildError(f"{what} failed (exit {done.returncode}); see {log}")


def build(lock: Path, cache: Path, venv: Path, bin_dir: Path, cmake_args: str) -> Path:
    """Build and install ``llama-server`` unless the stamp says it is already there."""
    try:
        sdist = pinned_sdist(lock.read_text())
    except OSError as exc:
        raise ServerBuildError(f"cannot read {lock}: {exc.strerror}") from exc
    arguments = cmake_arguments(cmake_args, sdist, cmake_generator())
    expected = stamp_for(sdist, arguments)
    root = venv / BUILD_FOLDER
    stamp = root / "stamp.json"
    binary = bin_dir / BINARY
    if up_to_date(stamp, expected, binary):
        if not (root / CONVERTER[-1]).is_file():  # installed before the converter was kept
            _sources(root, sdist, cache, llama_cpp=False)
        _say(f"{binary} is up to date ({PACKAGE} {sdist.version})")
        return binary
    started = time.monotonic()
    root.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    source = root / "src"
    fresh = source.joinpath(*SERVER_LISTS).is_file() and _stamped_sdist(root) == sdist.sha256
    if not fresh or not (root / CONVERTER[-1]).is_file():
        source = _sources(root, sdist, cache, llama_cpp=not fresh)
    (root / "sdist.sha256").write_text(sdist.sha256)
    tree = root / "build"
    shutil.rmtree(tree, ignore_errors=True)  # a changed configuration starts clean
    log = root / "build.log"
    log.write_text("")
    _say(f"configuring ({shlex.join(arguments)})")
    _run(["cmake", "-S", str(source), "-B", str(tree), *arguments], log, "cmake configure")
    _say("compiling llama-server (a few minutes; the log is in " + str(log) + ")")
    _run(["cmake", "--build", str(tree), "--target", BINARY], log, "cmake --build")
    built = tree / "bin" / BINARY
    if not built.is_file():
        raise ServerBuildError(f"the build produced no {built}; see {log}")
    partial = binary.with_name(BINARY + ".partial")
    shutil.copy2(built, partial)
    partial.chmod(0o755)
    partial.replace(binary)
    stamp.write_text(json.dumps(expected, indent=2) + "\n")
    seconds = time.monotonic() - started
    size = binary.stat().st_size / 1e6
    _say(f"installed {binary} ({size:.1f} MB) in {seconds:.0f} s")
    return binary


def _stamped_sdist(root: Path) -> str:
    try:
        return (root / "sdist.sha256").read_text().strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    """Build ``llama-server`` beside this interpreter; one line and exit 1 on any failure."""
    parser = argparse.ArgumentParser(
        prog="python -m devfactory.models.server_build",
        description="Build llama.cpp's llama-server from the llama-cpp-python sdist uv.lock pins.",
    )
    parser.add_argument("--lock", type=Path, default=Path("uv.lock"), help="the uv.lock to read")
    parser.add_argument(
        "--uv-cache", type=Path, default=None, help="uv's cache folder (default: as uv finds it)"
    )
    options = parser.parse_args(argv)
    try:
        build(
            lock=options.lock,
            cache=options.uv_cache or default_uv_cache(),
            venv=Path(sys.prefix),
            bin_dir=Path(sys.executable).parent,
            cmake_args=os.environ.get("CMAKE_ARGS", ""),
        )
    except ServerBuildError as exc:
        print(f"{BINARY}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{BINARY}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
