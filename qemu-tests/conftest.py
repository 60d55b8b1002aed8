"""Shared fixtures for the QEMU tests.

Each test module boots its own VM(s) from a fresh copy of out/berth.img in
its own work directory under out/qemu-tests/. Console logs of modules with
a failed test are kept in out/qemu-tests/failed/; the rest are removed.
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import berthvm  # noqa: E402

RESULTS = os.path.join(berthvm.OUT, "qemu-tests")
_failed_modules = set()


def pytest_configure(config):
    os.makedirs(RESULTS, exist_ok=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        _failed_modules.add(item.module.__name__)


@pytest.fixture(scope="session")
def image():
    path = os.path.join(berthvm.OUT, "berth.img")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing; run 'make' first")
    return path


@pytest.fixture(scope="module")
def workdir(request):
    name = request.module.__name__
    path = os.path.join(RESULTS, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    yield path
    if name in _failed_modules:
        kept = os.path.join(RESULTS, "failed", name)
        shutil.rmtree(kept, ignore_errors=True)
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        os.makedirs(kept)
        # Multi-VM modules log each VM in a subdirectory (node1/...): keep
        # the tree's shape so that every console is there to read.
        for d, _, files in os.walk(path):
            for f in files:
                if f.endswith(".log"):
                    dest = os.path.join(kept, os.path.relpath(d, path))
                    os.makedirs(dest, exist_ok=True)
                    shutil.copy(os.path.join(d, f), dest)
        sys.stderr.write(f"\nconsole logs of {name} kept in {kept}\n")
    shutil.rmtree(path, ignore_errors=True)


def record(name, value):
    """Appends a measurement (boot times and the like) to out/qemu-tests/measurements.txt."""
    with open(os.path.join(RESULTS, "measurements.txt"), "a") as f:
        f.write(f"{name} {value}\n")
