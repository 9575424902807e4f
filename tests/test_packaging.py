"""A non-editable install is one import package, `jiandu`, and needs nothing from the checkout.

The wheel is built from a copy of the repository and installed into a fresh venv whose
dependencies come from this environment (a .pth line: no download). Beside it sits another
distribution that ships a top-level `models` package, and the demo runs from a directory that
holds a `models/` folder of its own: jiandu must use neither.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _other_models_wheel(where: Path) -> Path:
    """A wheel of another project that also ships a top-level `models` package."""
    source = where / "othermodels"
    (source / "models").mkdir(parents=True)
    (source / "models" / "__init__.py").write_text("OWNER = 'othermodels'\n")
    (source / "models" / "store.py").write_text("def something_else():\n    return 1\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "othermodels"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["models"]\n')
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", where, source)
    return next(where.glob("othermodels-*.whl"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("packaging")
    checkout = work / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".jiandu", "out", "tests", "bench"))
    wheels = work / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, checkout)
    wheel = next(wheels.glob("jiandu-*.whl"))

    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    fresh_site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     capture_output=True, text=True, check=True).stdout.strip())
    # Only the dependencies come from here; this environment's own (editable) jiandu is not on
    # the path, since .pth files inside a directory added by a .pth line are not processed.
    (fresh_site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    before = set(os.listdir(fresh_site))
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", fresh_site, wheel)
    added = set(os.listdir(fresh_site)) - before
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", fresh_site,
         _other_models_wheel(work))
    return {"python": python, "added": added, "wheel": wheel, "work": work}


def test_the_wheel_installs_one_top_level_package(installed):
    added = {name for name in installed["added"] if name != "bin"}
    assert {name for name in added if not name.endswith(".dist-info")} == {"jiandu"}
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        top_level = next(n for n in wheel.namelist() if n.endswith("top_level.txt"))
        assert wheel.read(top_level).decode().split() == ["jiandu"]
        names = wheel.namelist()
    # Package data that used to be read from the checkout.
    for needed in ("jiandu/templates/issue.md.j2", "jiandu/templates/prompts/summarise.j2",
                   "jiandu/models/migrations/script.py.mako", "jiandu/examples/feeds/ai-weekly.xml",
                   "jiandu/examples/clippings.md"):
        assert needed in names, needed


def test_demo_runs_from_an_empty_directory_beside_a_foreign_models_package(installed):
    here = installed["work"] / "elsewhere"
    (here / "models").mkdir(parents=True)
    (here / "models" / "__init__.py").write_text("raise ImportError('the wrong models package')\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JIANDU_", "OPENAI_", "PYTHONPATH"))}
    env["JIANDU_HOME"] = str(here / "home")
    python = installed["python"]
    foreign = _run(python, "-c", "import models; print(models.OWNER)", cwd=installed["work"], env=env)
    assert foreign.stdout.strip() == "othermodels"

    result = _run(python, "-m", "jiandu.demo", cwd=here, env=env)
    issues = sorted((here / "home" / "out").glob("issue-*.md"))
    assert issues, result.stdout[-2000:]
    assert "要点解析" in issues[-1].read_text(encoding="utf-8")
    status = _run(python, "-m", "jiandu", "status", cwd=here, env=env)
    assert "Traceback" not in status.stderr
