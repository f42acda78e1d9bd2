"""Building llama-server from the pinned sdist: the lock, the checks, the stamp, the flags."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from devfactory.models import server_build
from devfactory.models.server_build import (
    Sdist,
    ServerBuildError,
    build,
    cached_source,
    cmake_arguments,
    cmake_generator,
    converter_at,
    download,
    extract_converter,
    extract_vendored,
    pinned_sdist,
    server_binary,
    stamp_for,
    up_to_date,
    verify_archive,
)

ROOT = Path(__file__).resolve().parents[2]
SHA = "ab" * 32
URL = "https://files.example/llama_cpp_python-0.3.36.tar.gz"
LOCK = (
    "version = 1\n\n"
    "[[package]]\n"
    'name = "jinja2"\n'
    'version = "3.1.6"\n'
    f'sdist = {{ url = "https://f.example/j.tar.gz", hash = "sha256:{"cd" * 32}", size = 10 }}\n'
    "\n[[package]]\n"
    'name = "llama-cpp-python"\n'
    'version = "0.3.36"\n'
    'source = { registry = "https://pypi.org/simple" }\n'
    f'sdist = {{ url = "{URL}", hash = "sha256:{SHA}", size = 76589250, '
    'upload-time = "2026-10-01T05:48:01.345Z" }\n'
)


def makefile_cmake_args() -> str:
    match = re.search(r"^export CMAKE_ARGS \?= (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "the Makefile exports CMAKE_ARGS"
    return match.group(1)


def sdist_of(data: bytes, version: str = "0.3.36") -> Sdist:
    return Sdist(
        version=version,
        url=f"https://files.example/llama_cpp_python-{version}.tar.gz",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def test_the_pinned_sdist_is_read_from_a_lock_text() -> None:
    sdist = pinned_sdist(LOCK)
    assert sdist == Sdist(
        version="0.3.36",
        url="https://files.example/llama_cpp_python-0.3.36.tar.gz",
        sha256=SHA,
        size=76589250,
    )
    assert sdist.build_label == "llama-cpp-python-0.3.36"


def test_the_projects_lock_pins_one_sdist_of_llama_cpp_python() -> None:
    sdist = pinned_sdist((ROOT / "uv.lock").read_text())
    assert sdist.url.startswith("https://files.pythonhosted.org/")
    assert sdist.url.endswith(f"llama_cpp_python-{sdist.version}.tar.gz")
    assert re.fullmatch(r"[0-9a-f]{64}", sdist.sha256)
    assert sdist.size > 1_000_000


def test_a_lock_without_the_package_or_its_sdist_is_refused() -> None:
    with pytest.raises(ServerBuildError, match="pins 0 versions of llama-cpp-python"):
        pinned_sdist(LOCK.replace('name = "llama-cpp-python"', 'name = "other"'))
    with pytest.raises(ServerBuildError, match="no sdist URL, sha256 and size"):
        pinned_sdist(LOCK.replace(f"sha256:{SHA}", f"md5:{SHA}"))
    with pytest.raises(ServerBuildError, match="not valid TOML"):
        pinned_sdist("[[package]\n")


def test_an_archive_whose_hash_differs_from_the_lock_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "llama_cpp_python-0.3.36.tar.gz"
    archive.write_bytes(b"the real bytes")
    verify_archive(archive, sdist_of(b"the real bytes"))  # the pinned bytes pass
    other = sdist_of(b"other bytes!!!")
    assert other.size == archive.stat().st_size
    with pytest.raises(ServerBuildError, match=f"uv.lock pins {other.sha256}: refusing it"):
        verify_archive(archive, other)
    with pytest.raises(ServerBuildError, match="is 14 bytes, uv.lock pins 3: refusing it"):
        verify_archive(archive, sdist_of(b"abc"))


def test_a_download_that_differs_from_the_lock_is_refused_and_not_kept(tmp_path: Path) -> None:
    served = b"tampered archive"
    client = httpx.Client(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=served))
    )
    target = tmp_path / "llama_cpp_python-0.3.36.tar.gz"
    with pytest.raises(ServerBuildError, match="refusing it"):
        download(sdist_of(b"pinned  archive!"), target, client)
    assert list(tmp_path.iterdir()) == []
    assert download(sdist_of(served), target, client).read_bytes() == served


def test_a_failed_download_is_one_clear_error(tmp_path: Path) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(404)))
    with pytest.raises(ServerBuildError, match="cannot download https://files.example/.*404"):
        download(sdist_of(b"x"), tmp_path / "a.tar.gz", client)
    assert list(tmp_path.iterdir()) == []


def _tar(path: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_only_the_vendored_llama_cpp_is_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "sdist.tar.gz"
    _tar(
        archive,
        {
            "llama_cpp_python-0.3.36/README.md": b"readme",
            "llama_cpp_python-0.3.36/vendor/llama.cpp/CMakeLists.txt": b"project(llama.cpp)",
            "llama_cpp_python-0.3.36/vendor/llama.cpp/tools/server/CMakeLists.txt": b"server",
            "llama_cpp_python-0.3.36/vendor/other/file.c": b"other",
        },
    )
    source = extract_vendored(archive, tmp_path / "src")
    found = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    assert found == ["CMakeLists.txt", "tools/server/CMakeLists.txt"]
    assert (source / "tools" / "server" / "CMakeLists.txt").read_bytes() == b"server"


def test_an_sdist_without_vendored_llama_cpp_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "sdist.tar.gz"
    _tar(archive, {"llama_cpp_python-0.3.36/README.md": b"readme"})
    with pytest.raises(ServerBuildError, match="holds no vendor/llama.cpp"):
        extract_vendored(archive, tmp_path / "src")
    (tmp_path / "broken.tar.gz").write_bytes(b"not gzip")
    with pytest.raises(ServerBuildError, match="not a gzipped tar"):
        extract_vendored(tmp_path / "broken.tar.gz", tmp_path / "src")


def _cached_revision(cache: Path, revision: str) -> Path:
    source = cache / "sdists-v10/pypi/llama-cpp-python/0.3.36" / revision / "src/vendor/llama.cpp"
    (source / "tools/server").mkdir(parents=True)
    (source / "tools/server/CMakeLists.txt").write_text("server")
    converter = source.parents[1] / "llama_cpp" / "llama_grammar.py"
    converter.parent.mkdir(parents=True)
    converter.write_text(f"CONVERTER = {revision!r}\n")
    return source


def test_the_sdists_grammar_converter_is_extracted_alone(tmp_path: Path) -> None:
    archive = tmp_path / "sdist.tar.gz"
    _tar(
        archive,
        {
            "llama_cpp_python-0.3.36/llama_cpp/llama_grammar.py": b"def json_schema_to_gbnf(): ...",
            "llama_cpp_python-0.3.36/llama_cpp/llama.py": b"import ctypes",
            "llama_cpp_python-0.3.36/vendor/llama.cpp/CMakeLists.txt": b"project(llama.cpp)",
        },
    )
    target = extract_converter(archive, tmp_path / "llama_grammar.py")
    assert target.read_bytes() == b"def json_schema_to_gbnf(): ..."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llama_grammar.py", "sdist.tar.gz"]
    _tar(archive, {"llama_cpp_python-0.3.36/README.md": b"readme"})
    with pytest.raises(ServerBuildError, match="holds no llama_cpp/llama_grammar.py"):
        extract_converter(archive, tmp_path / "other.py")


def test_the_uv_cache_revision_recorded_with_the_locks_hash_is_used(tmp_path: Path) -> None:
    sdist = pinned_sdist(LOCK)
    _cached_revision(tmp_path, "oldRevisionAAAAA")
    current = _cached_revision(tmp_path, "mEH7zwbnCxnMHzTS")
    record = tmp_path / "sdists-v10/pypi/llama-cpp-python/0.3.36/revision.http"
    record.write_bytes(b"\x00mEH7zwbnCxnMHzTS\x06Sha256@" + SHA.encode() + b"\x00https://...")
    assert cached_source(tmp_path, sdist) == current
    record.write_bytes(b"\x00mEH7zwbnCxnMHzTS\x06Sha256@" + b"ef" * 32)  # another sdist
    assert cached_source(tmp_path, sdist) is None
    assert cached_source(tmp_path / "no-cache", sdist) is None


def test_the_cmake_arguments_keep_the_makefiles_portable_flags() -> None:
    flags = makefile_cmake_args().split()
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AVX2=ON" in flags
    arguments = cmake_arguments(makefile_cmake_args(), pinned_sdist(LOCK))
    assert arguments[: len(flags) + 2] == ["-G", "Ninja", *flags]
    assert not any("march=native" in argument for argument in arguments)
    assert [a for a in arguments if a.startswith("-DGGML_NATIVE")] == ["-DGGML_NATIVE=OFF"]
    for option in ("-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_CURL=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF"):
        assert option in arguments
    assert "-DLLAMA_BUILD_COMMIT=llama-cpp-python-0.3.36" in arguments


def test_without_cmake_args_the_build_is_still_portable() -> None:
    arguments = cmake_arguments("", pinned_sdist(LOCK))
    assert "-DGGML_NATIVE=OFF" in arguments
    assert not any("native" in a for a in arguments if a != "-DGGML_NATIVE=OFF")
    chosen = cmake_arguments("-DGGML_NATIVE:BOOL=ON", pinned_sdist(LOCK))
    assert [a for a in chosen if "GGML_NATIVE" in a] == ["-DGGML_NATIVE:BOOL=ON"]


def test_without_ninja_the_build_uses_make() -> None:
    arguments = cmake_arguments(makefile_cmake_args(), pinned_sdist(LOCK), "Unix Makefiles")
    assert arguments[:2] == ["-G", "Unix Makefiles"]


def _binary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_stamp_matches_only_the_same_sdist_arguments_and_an_executable_binary(
    tmp_path: Path,
) -> None:
    sdist = pinned_sdist(LOCK)
    arguments = cmake_arguments(makefile_cmake_args(), sdist)
    expected = stamp_for(sdist, arguments)
    stamp = tmp_path / "stamp.json"
    binary = tmp_path / "bin" / "llama-server"
    stamp.write_text(json.dumps(expected))
    assert not up_to_date(stamp, expected, binary)  # no binary yet
    _binary(binary)
    assert up_to_date(stamp, expected, binary)
    assert not up_to_date(stamp, stamp_for(sdist_of(b"another sdist"), arguments), binary)
    assert not up_to_date(stamp, stamp_for(sdist, cmake_arguments("", sdist)), binary)
    binary.chmod(0o644)
    assert not up_to_date(stamp, expected, binary)
    binary.chmod(0o755)
    stamp.write_text("{not json")
    assert not up_to_date(stamp, expected, binary)


def test_a_second_build_with_the_same_stamp_and_binary_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_command(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(subprocess, "run", no_command)
    lock = tmp_path / "uv.lock"
    lock.write_text(LOCK)
    venv = tmp_path / "venv"
    sdist = pinned_sdist(LOCK)
    stamp = venv / ".llama-server-build" / "stamp.json"
    stamp.parent.mkdir(parents=True)
    arguments = cmake_arguments(makefile_cmake_args(), sdist, cmake_generator())
    stamp.write_text(json.dumps(stamp_for(sdist, arguments)))
    binary = _binary(venv / "bin" / "llama-server")
    converter = converter_at(venv)
    converter.write_text("kept")
    built = build(lock, tmp_path / "cache", venv, venv / "bin", makefile_cmake_args())
    assert built == binary
    assert "is up to date (llama-cpp-python 0.3.36)" in capsys.readouterr().out
    assert converter.read_text() == "kept"

    converter.unlink()  # a server built before the converter was kept: it is fetched alone
    cache = tmp_path / "cache"
    _cached_revision(cache, "mEH7zwbnCxnMHzTS")
    record = cache / "sdists-v10/pypi/llama-cpp-python/0.3.36/revision.http"
    record.write_bytes(b"\x00mEH7zwbnCxnMHzTS\x06Sha256@" + SHA.encode())
    assert build(lock, cache, venv, venv / "bin", makefile_cmake_args()) == binary
    assert converter.read_text() == "CONVERTER = 'mEH7zwbnCxnMHzTS'\n"
    assert not (venv / ".llama-server-build" / "src").exists()  # no sources: nothing to build


def test_a_failure_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert server_build.main(["--lock", str(tmp_path / "missing.lock")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("llama-server: cannot read ") and "missing.lock" in err


def test_the_server_binary_is_found_beside_the_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    assert server_binary() is None
    binary = _binary(tmp_path / "bin" / "llama-server")
    binary.chmod(0o644)
    assert server_binary() is None  # present but not executable
    binary.chmod(0o755)
    assert server_binary() == binary


def dockerfile_runs() -> list[str]:
    """Return the Dockerfile's RUN instructions, each on one line."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if line.startswith("RUN ")]


def test_the_image_builds_the_server_as_make_setup_does_and_keeps_only_the_binary() -> None:
    env = re.search(r"UV_PROJECT_ENVIRONMENT=(\S+)", (ROOT / "Dockerfile").read_text())
    assert env, "the image names its virtualenv"
    venv = env.group(1)
    command = f"python -m {server_build.__name__}"
    assert command in (ROOT / "Makefile").read_text()  # the one way the server is built
    [run] = [line for line in dockerfile_runs() if command in line]
    steps = [step.strip() for step in run.removeprefix("RUN ").split("&&")]
    [sync] = [i for i, step in enumerate(steps) if step.startswith("uv sync ")]
    [built] = [i for i, step in enumerate(steps) if command in step]
    # after the sync, in its layer: uv's cache still holds the sdist it unpacked
    assert sync < built and 'UV_CACHE_DIR="$(uv cache dir)"' in steps[built]
    assert "--lock uv.lock" in steps[built]  # the lock copied into the image
    binary = f"{venv}/bin/{server_build.BINARY}"  # installed_at() for the image's python
    assert f"{binary} --version" in steps[built + 1 :]  # it runs in the image
    folder = f"{venv}/{server_build.BUILD_FOLDER}"
    removed = " ".join(steps[built + 1 :])
    assert f"{folder}/src" in removed and f"{folder}/build" in removed
    assert f"{folder} " not in removed + " "  # its stamp stays: a rebuild knows it is current
    flags = re.search(r'^ENV CMAKE_ARGS="([^"]*)"', (ROOT / "Dockerfile").read_text(), re.M)
    assert flags and flags.group(1) == makefile_cmake_args()  # the same portable build
