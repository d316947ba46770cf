"""What the ``cuda`` backend needs, and the brian2cuda settings it builds with.

Generating a brian2cuda project needs only brian2cuda; compiling it needs
``nvcc`` and cuRAND's headers; running it needs a CUDA GPU.  The checks here
say which of these is missing in words a user can act on, so that
``--backend cuda`` fails with one line before anything is built or written.
Without a GPU the project is compiled for compute capability
``DEFAULT_COMPUTE_CAPABILITY`` (H100/H200), which is what the CI tests do.
"""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: compile for this when no GPU can be asked (sm_90: H100, H200)
DEFAULT_COMPUTE_CAPABILITY = 9.0
#: where brian2cuda looks for CUDA after $CUDA_PATH and an nvcc on PATH
STANDARD_CUDA = Path("/usr/local/cuda")
INSTALL_HINT = 'pip install "bioevo[cuda]" on Python >= 3.12'


def brian2cuda_problem() -> str | None:
    """Why brian2cuda cannot be imported, or None."""
    try:
        importlib.import_module("brian2cuda")
    except ImportError as err:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        why = "" if getattr(err, "name", None) == "brian2cuda" else f": {err}"  # installed but broken
        return f"brian2cuda is not installed ({INSTALL_HINT}; this is Python {version}){why}"
    return None


def cuda_roots() -> list[Path]:
    """Candidate CUDA toolkit folders, in brian2cuda's order of search."""
    roots = [Path(os.environ[k]) for k in ("CUDA_PATH", "CUDA_HOME") if os.environ.get(k)]
    nvcc = shutil.which("nvcc")
    if nvcc:
        roots += [Path(nvcc).parent.parent, Path(nvcc).resolve().parent.parent]
    return [*roots, STANDARD_CUDA]


def nvcc_path() -> Path | None:
    """The nvcc brian2cuda will use, or None."""
    nvcc = shutil.which("nvcc")
    if os.environ.get("CUDA_PATH"):
        nvcc = str(Path(os.environ["CUDA_PATH"]) / "bin" / "nvcc")
    elif not nvcc:
        nvcc = str(STANDARD_CUDA / "bin" / "nvcc")
    return Path(nvcc) if os.access(nvcc, os.X_OK) else None


def curand_dirs() -> tuple[Path, Path | None] | None:
    """(include folder, library folder or None) holding cuRAND: the toolkit's
    own (None: the linker finds it), else the ``nvidia-curand`` wheel's, which
    some slim toolkits (pip-installed nvcc) need; None if neither."""
    for root in cuda_roots():
        for inc in [root / "include", *sorted(root.glob("targets/*/include"))]:
            if (inc / "curand.h").is_file():
                return inc, None
    try:
        nvidia = importlib.import_module("nvidia")
    except ImportError:
        return None
    for base in map(Path, getattr(nvidia, "__path__", [])):
        for inc in sorted(base.glob("*/include/curand.h")):
            libs = sorted(inc.parent.parent.glob("lib/libcurand.so*"))
            if libs:
                return inc.parent, libs[0]
    return None


def gpu_problem() -> str | None:
    """Why no CUDA GPU can be used here, or None."""
    count, _, reason = probe_gpus()
    return reason if count == 0 else None


def compute_capability() -> float:
    """The first visible GPU's compute capability, else DEFAULT_COMPUTE_CAPABILITY."""
    count, capability, _ = probe_gpus()
    return capability if count else DEFAULT_COMPUTE_CAPABILITY


# Asks the driver in a child process: CUDA reads CUDA_VISIBLE_DEVICES once, at cuInit, and this
# process should hold no CUDA state when it forks the simulation binaries.
_PROBE = """
import ctypes, sys
try:
    lib = ctypes.CDLL("libcuda.so.1")
except OSError:
    sys.exit("no CUDA GPU (no NVIDIA driver: libcuda.so.1 not found)")
code = lib.cuInit(0)
if code:
    sys.exit(f"no CUDA GPU (the driver's cuInit failed with error {code})")
n, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
if lib.cuDeviceGetCount(ctypes.byref(n)) or n.value == 0:
    sys.exit("no CUDA GPU (the driver reports none)")
lib.cuDeviceGetAttribute(ctypes.byref(major), 75, 0)  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
lib.cuDeviceGetAttribute(ctypes.byref(minor), 76, 0)  # ..._MINOR
print(n.value, f"{major.value}.{minor.value}")
"""


def probe_gpus() -> tuple[int, float | None, str]:
    """(visible CUDA GPUs, the first one's compute capability, why none)."""
    res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    if res.returncode:
        reason = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}"
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None:
            reason += f" with CUDA_VISIBLE_DEVICES={visible!r}"
        return 0, None, reason
    count, capability = res.stdout.split()
    return int(count), float(capability), ""


def build_problems() -> list[str]:
    """What generating and compiling a brian2cuda project lacks here."""
    problems = [p for p in [brian2cuda_problem()] if p]
    if nvcc_path() is None:
        problems.append("no nvcc (not on PATH, not in $CUDA_PATH/bin or /usr/local/cuda/bin)")
    elif curand_dirs() is None:
        problems.append("no cuRAND headers (curand.h) in the CUDA toolkit (pip install nvidia-curand)")
    return problems


def unavailable(what: str = "evolve.backend 'cuda'") -> str | None:
    """One line naming everything ``what`` (the cuda backend) lacks here, or None."""
    problems = build_problems() + [p for p in [gpu_problem()] if p]
    if not problems:
        return None
    return f"{what} cannot run here: " + "; ".join(problems) + "; allowed here: cpp, runtime"


@contextmanager
def build_settings(link_dir: Path) -> Iterator[float]:
    """Brian2/brian2cuda preferences for one cuda_standalone build, restored
    afterwards (cpp builds in the same process keep theirs); yields the compute
    capability compiled for.  ``link_dir`` gets a ``libcurand.so`` link when
    cuRAND comes from the wheel (the makefile links ``-lcurand``)."""
    from brian2 import prefs

    capability = compute_capability()
    backend = "devices.cuda_standalone.cuda_backend."
    cpp = "codegen.cpp."
    gcc = [("-std=c++17" if a == "-std=c++11" else a) for a in prefs[cpp + "extra_compile_args_gcc"]]
    new = {
        backend + "detect_gpus": False,  # brian2cuda would ask nvidia-smi, which a build does not need
        backend + "gpu_id": 0,
        backend + "compute_capability": capability,
        # CUDA >= 12's thrust needs C++17; brian2cuda's makefile says c++11 first, the last -std wins
        backend + "extra_compile_args_nvcc": [*prefs[backend + "extra_compile_args_nvcc"], "-std=c++17"],
        cpp + "extra_compile_args_gcc": gcc,
        "devices.cpp_standalone.extra_make_args_unix": [f"-j{max(2, os.cpu_count() or 1)}"],
    }
    found = curand_dirs()
    if found is not None and found[1] is not None:
        include, library = found
        # the binary finds cuRAND through links in the cache, renewed at every build, so a cached
        # binary keeps working when the environment that held the wheel is replaced
        link_dir.mkdir(parents=True, exist_ok=True)
        for name in {"libcurand.so", library.name}:
            tmp = link_dir / f".{name}.{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(library)
            os.replace(tmp, link_dir / name)
        new[cpp + "include_dirs"] = [*prefs[cpp + "include_dirs"], str(include)]
        new[cpp + "library_dirs"] = [*prefs[cpp + "library_dirs"], str(link_dir)]
        new[cpp + "runtime_library_dirs"] = [*prefs[cpp + "runtime_library_dirs"], str(link_dir)]
    old = {key: prefs[key] for key in new}
    prefs.update(new)
    try:
        yield capability
    finally:
        prefs.update(old)
