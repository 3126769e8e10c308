"""Build the workshop as a JupyterLite site: static files any web host (or a USB stick) can serve.

Everything comes from PyPI and npm, and the site asks nothing of any other host when it runs:
- JupyterLite and its Pyodide kernel from PyPI (this script runs in their venv, made by ``make lite``);
- the Pyodide runtime from npm (``npm pack pyodide@VERSION``: the core only, with no wheels);
- every wheel the kernel and the notebooks need, pure wheels from PyPI, and playground's own wheel
  built from this checkout;
- a new ``pyodide-lock.json`` that lists exactly those wheels. Pyodide's own lock cannot be used: its
  files live on a CDN and have other checksums than PyPI's, and micropip looks in the lock first.

The kernel preloads all of them through the lock, so a notebook can ``import playground`` at once.

    python tools/build_lite.py [--output _site]
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from jupyterlite_pyodide_kernel import constants
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYODIDE_VERSION = constants.PYODIDE_VERSION  # the runtime this kernel release was made for
PYTHON_VERSION = constants.PYODIDE_PYTHON_VERSION
KERNEL_WHEELS = Path(sys.prefix, "share/jupyter/labextensions", constants.PYODIDE_KERNEL_NPM_NAME,
                     "static", constants.PYPI_WHEELS)
# The Pyodide core files a kernel loads; the rest of the npm package (maps, types, demos) is left out.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
# What the kernel installs at start (step 4 of its start-up), and what the lock names with its version.
KERNEL_NEEDS = ("comm", "jedi")
PINNED_BY_LOCK = ("micropip", "ipython")
# Preloaded in this order by the kernel (``loadPyodideOptions.packages``): nothing is fetched later.
PRELOAD = ("micropip", "piplite", "pyodide-kernel", "ipykernel", "comm", "jedi", "ipython", "playground")


def run(*command: str | Path, cwd: Path | None = None, quiet: bool = False) -> None:
    subprocess.run([str(part) for part in command], check=True, cwd=cwd,
                   stdout=subprocess.DEVNULL if quiet else None)


def fetch_pyodide(cache: Path) -> Path:
    """The npm tarball of the Pyodide core, downloaded once into ``cache``."""
    tarball = cache / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        run("npm", "pack", "--silent", f"pyodide@{PYODIDE_VERSION}", "--pack-destination", cache, quiet=True)
    return tarball


def unpack_pyodide(tarball: Path, target: Path) -> dict:
    """Copy the core files into ``target``; return npm's lock (its ``info`` block describes the runtime)."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for name in PYODIDE_FILES:
            member = archive.extractfile(f"package/{name}")
            assert member is not None, f"{tarball.name} has no {name}"
            (target / name).write_bytes(member.read())
        lock = archive.extractfile("package/pyodide-lock.json")
        assert lock is not None
        return json.load(lock)


# -- wheels: what the lock needs to know about each one --------------------------------------------


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def top_level_imports(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/top_level\.txt", n)]
        if top_level:
            return sorted({line.strip() for line in archive.read(top_level[0]).decode().splitlines()
                           if line.strip() and "/" not in line})
    found = set()
    for name in names:
        head, _, rest = name.partition("/")
        if head.endswith((".dist-info", ".data")) or head == "__pycache__":
            continue
        if (rest and rest.endswith(".py")) or (not rest and head.endswith(".py")):
            found.add(head.removesuffix(".py"))
    return sorted(found)


def requirements_in_browser(meta: email.message.Message, python_full: str) -> list[Requirement]:
    """Requires-Dist as it applies in Pyodide (no extras): the host's markers would be the wrong ones."""
    environment = {
        "sys_platform": "emscripten", "platform_system": "Emscripten", "platform_machine": "wasm32",
        "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "python_version": PYTHON_VERSION, "python_full_version": python_full, "extra": "",
    }
    wanted = []
    for line in meta.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            wanted.append(requirement)
    return wanted


def download(specs: list[str], target: Path) -> None:
    """Pure wheels for Pyodide's Python; ``--no-deps`` because pip would judge markers by this host."""
    run(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--only-binary", ":all:", "--python-version", PYTHON_VERSION, "--implementation", "py",
        "--abi", "none", "--platform", "any", "--dest", target, *specs)


def gather_wheels(seeds: list[Path], pins: dict[str, str], target: Path, python_full: str) -> dict[str, Path]:
    """Every wheel the seeds need, following Requires-Dist as Pyodide sees it; name -> wheel."""
    wheels: dict[str, Path] = {}
    wanted: list[Requirement] = [Requirement(f"{name}=={version}") for name, version in pins.items()]
    wanted += [Requirement(name) for name in KERNEL_NEEDS]
    new = list(seeds)
    while True:
        for wheel in new:
            meta = metadata(wheel)
            wheels[canonicalize_name(meta["Name"])] = wheel
            wanted += requirements_in_browser(meta, python_full)
        missing: dict[str, list[str]] = {}
        for requirement in wanted:
            name = canonicalize_name(requirement.name)
            if name not in wheels:
                missing.setdefault(name, []).extend(str(s) for s in requirement.specifier)
        if not missing:
            break
        before = set(target.glob("*.whl"))
        download([name + ",".join(specifiers) for name, specifiers in missing.items()], target)
        new = sorted(set(target.glob("*.whl")) - before)
        if not new:
            raise SystemExit(f"no wheel found for {sorted(missing)}")
    for requirement in wanted:
        version = metadata(wheels[canonicalize_name(requirement.name)])["Version"]
        if requirement.specifier and not requirement.specifier.contains(Version(version), prereleases=True):
            raise SystemExit(f"{requirement} is wanted, but {requirement.name} {version} was gathered")
    return wheels


def lock_entry(wheel: Path, python_full: str) -> dict:
    meta = metadata(wheel)
    return {
        "name": meta["Name"],
        "version": meta["Version"],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "package_type": "package",
        "imports": top_level_imports(wheel),
        "depends": sorted({canonicalize_name(r.name) for r in requirements_in_browser(meta, python_full)}),
        "unvendored_tests": False,
    }


# -- the site -------------------------------------------------------------------------------------


def copy_notebook(source: Path, target: Path) -> None:
    """Copy a notebook for the site without its stored Mermaid outputs (``text/vnd.mermaid``): opening a
    notebook whose stored output JupyterLite draws as a Mermaid diagram stalls its page (seen with
    JupyterLite 0.8.6 in Chromium: the page stops answering). The text beside it stays, and running the
    cell draws the diagram there as in JupyterLab."""
    notebook = json.loads(source.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("text/vnd.mermaid", None)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def lite_config() -> dict:
    kernel = {
        "disablePyPIFallback": True,
        # In the source file, not left to the build's addon: on a rebuild the addon counts as up to date,
        # drops the setting, and the kernel then fetches Pyodide from a CDN.
        "pyodideUrl": "./static/pyodide/pyodide.mjs",
        "loadPyodideOptions": {"packages": list(PRELOAD)},
    }
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "playground",
            "exposeAppInBrowser": True,  # window.jupyterapp, for the browser test
            "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": kernel},
            # No "would you like to receive Jupyter news?" prompt for a room of newcomers.
            "disabledExtensions": ["@jupyterlab/apputils-extension:announcements"],
        },
    }


def build(output: Path, work: Path) -> None:
    started = time.monotonic()
    shutil.rmtree(work, ignore_errors=True)  # a clean stage each time: no stale doit state or wheels
    shutil.rmtree(output, ignore_errors=True)
    stage = work / "stage"
    pyodide_dir = stage / "static" / "pyodide"
    downloads = work / "wheels"
    downloads.mkdir(parents=True)

    npm_lock = unpack_pyodide(fetch_pyodide(Path(sys.prefix, "cache")), pyodide_dir)
    python_full = npm_lock["info"]["python"]
    pins = {name: npm_lock["packages"][name]["version"] for name in PINNED_BY_LOCK}

    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--wheel-dir", downloads, ROOT)
    kernel_wheels = [w for w in KERNEL_WHEELS.glob("*.whl") if not w.name.startswith("widgetsnbextension")]
    seeds = kernel_wheels + list(downloads.glob("playground-*.whl"))
    wheels = gather_wheels(seeds, pins, downloads, python_full)

    packages = {}
    for name, wheel in sorted(wheels.items()):
        shutil.copy2(wheel, pyodide_dir / wheel.name)
        packages[name] = lock_entry(wheel, python_full)
    lock = {"info": npm_lock["info"], "packages": packages}
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")

    files = stage / "files"
    files.mkdir()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy_notebook(notebook, files / notebook.name)
    (stage / "jupyter-lite.json").write_text(json.dumps(lite_config(), indent=2) + "\n")

    run(Path(sys.executable).parent / "jupyter", "lite", "build", "--lite-dir", stage,
        "--output-dir", output.resolve(), "--no-sourcemaps", "--apps", "lab", "--apps", "notebooks",
        "--no-unused-shared-packages", cwd=stage)

    size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
    count = sum(1 for f in output.rglob("*") if f.is_file())
    print(f"{output}: {count} files, {size / 1e6:.1f} MB; Pyodide {PYODIDE_VERSION}, {len(packages)} wheels "
          f"({', '.join(sorted(packages))}); built in {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "_site", help="where the site goes (replaced)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "lite",
                        help="scratch folder for the stage and the wheels (replaced)")
    args = parser.parse_args()
    build(args.output, args.work)


if __name__ == "__main__":
    main()
