"""The stepper widget (``explore``) in a real JupyterLab, driven in headless Chromium.

A JupyterLab server from this virtual environment runs on a free localhost port
in a temporary directory (its config, data, runtime and IPython directories
temporary too, so nothing outside is read or written; no network needed); a
notebook builds the README's ``MLP(2, [16, 16, 1])`` on one sample and calls
``explore``; the test runs every cell from the Run menu, steps with the
"next" button and the arrow key, and checks each step's text against
``walkthrough_data`` computed here, that the current edge is in view, and that
the controls and the text stay on screen at 1280x720 (a projector).

Skipped only when Chromium or playwright is truly unavailable, failed instead
under CI, as in ``tests/test_walkthrough.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from autograd_lite.walkthrough import walkthrough_data
from tests.test_walkthrough import (
    CURRENT_IN_VIEW,
    _unavailable,
    demo_sample,
    in_view_args,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "stepper.ipynb"
KERNEL = "autograd-lite-test"  # a kernelspec written for this test: this venv's python, nothing else
KERNEL_NAME = "autograd_lite test"
WINDOW = {"width": 1280, "height": 720}
DOCS = Path(__file__).resolve().parent.parent / "docs"
# Screenshots go to the test's temporary folder; AUTOGRAD_LITE_SCREENSHOTS=docs renews docs/'s.
SCREENSHOTS_TO_DOCS = os.environ.get("AUTOGRAD_LITE_SCREENSHOTS") == "docs"
CELLS = [
    "import sys\nprint(sys.executable)",
    "from autograd_lite import Value\n"
    "from autograd_lite.nn import MLP\n"
    "from autograd_lite.walkthrough import explore\n\n"
    "model = MLP(2, [16, 16, 1], seed=0)\n"
    'out = model([Value(0.3, label="x0"), Value(-0.2, label="x1")])',
    "explore(out)",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL_NAME, "language": "python"}
    nbformat.write(nb, str(path))


def _isolated_env(tmp: Path) -> dict[str, str]:
    """Jupyter's and IPython's directories all under tmp; the venv's own share/jupyter stays on the path."""
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "ipython")}
    for d in dirs.values():
        d.mkdir()
    kernel = dirs["data"] / "kernels" / KERNEL
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL_NAME,
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    # No calls out: no news feed, no update check, no PyPI listing in the extension manager.
    lab = {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}
    lab["extension_manager"] = "readonly"
    (dirs["config"] / "jupyter_lab_config.json").write_text(json.dumps({"LabApp": lab}))
    # ...and no "Would you like to get notified about official Jupyter news?" toast over the notebook.
    settings = dirs["config"] / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    notification = {"fetchNews": "false", "checkForUpdates": False}
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(notification))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        PYTHONUNBUFFERED="1",
    )
    return env


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # jupyter server shuts its kernels down, then exits
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server holding the notebook; yields (notebook URL, server log path)."""
    for module in ("jupyterlab", "anywidget", "ipykernel", "nbformat"):
        if importlib.util.find_spec(module) is None:
            _unavailable(f"{module} is not installed (pip install -e '.[dev]')")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "notebooks"
    root.mkdir()
    _write_notebook(root / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "server.log"
    args = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers run as root; the server refuses to otherwise
    with open(log, "wb") as out:
        server = subprocess.Popen(
            args, cwd=root, env=_isolated_env(tmp), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with direct.open(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}", log
    finally:
        _stop(server)


# What of an element a person sees: the part of the browser window that JupyterLab's notebook panel
# shows (it scrolls the notebook itself, between its toolbar and the status bar). Controls and text
# must lie wholly inside it, and so must the value the current step changes, inside the picture's
# viewport too (the CURRENT_IN_VIEW rule of tests/test_walkthrough.py checks the picture's view).
SEEN = """([selector, inPicture]) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const areas = [el.closest('.jp-WindowedPanel-outer, .jp-Notebook').getBoundingClientRect(),
                 {left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight}];
  if (inPicture) areas.push(document.querySelector('.al-viewport').getBoundingClientRect());
  const seen = {
    left: Math.max(...areas.map((a) => a.left)), right: Math.min(...areas.map((a) => a.right)),
    top: Math.max(...areas.map((a) => a.top)), bottom: Math.min(...areas.map((a) => a.bottom)),
  };
  const whole = (lo, hi, vlo, vhi) => lo >= vlo && hi <= vhi;
  const fits = (lo, hi, vlo, vhi) => hi - lo <= vhi - vlo ? whole(lo, hi, vlo, vhi) : lo <= vlo && hi >= vhi;
  const rule = whole;
  return r.width > 0 && r.height > 0
    && rule(r.left, r.right, seen.left, seen.right) && rule(r.top, r.bottom, seen.top, seen.bottom);
}"""


def test_the_stepper_steps_the_demo_model_in_jupyterlab(browser, lab):
    from playwright.sync_api import expect

    url, log = lab
    steps = walkthrough_data(demo_sample())["steps"]  # the notebook's model, seeded: the same steps
    page = browser.new_page(viewport=WINDOW)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"a dialog opened: {d.message}"))
    stepper = page.locator(".al-stepper")

    def check(k: int) -> None:
        expect(stepper).to_have_attribute("data-step", str(k), timeout=5_000)
        assert page.inner_text(".al-stepper .al-text") == steps[k - 1]["text"], f"step {k}"
        assert page.locator(f'.al-viewport [id="{steps[k - 1]["edge"]}"].current').count() == 1, f"step {k}"
        assert page.evaluate(CURRENT_IN_VIEW, in_view_args(steps[k - 1])) is True, (
            f"step {k}: the current edge is out of the picture's view"
        )
        child = f'.al-viewport [id="{steps[k - 1]["child"]}"]'
        assert page.evaluate(SEEN, [child, True]) is True, f"step {k}: the value it changes is not on screen"
        for part in (".al-stepper .al-bar", ".al-stepper .al-text"):
            assert page.evaluate(SEEN, [part, False]) is True, f"step {k}: {part} is not on screen"

    try:
        page.goto(url, timeout=60_000)
        # The notebook's kernel connected and idle: before that the status bar says "Starting" or
        # "Connecting", and running cells then opens a "Select Kernel" dialog instead.
        page.wait_for_selector(f"#jp-main-statusbar :text-is('{KERNEL_NAME} | Idle')", timeout=60_000)
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        expect(stepper).to_have_attribute("data-step", "0", timeout=60_000)
        python = page.locator(".jp-OutputArea-output pre").first.inner_text().strip()
        assert python == sys.executable, "the kernel does not run this virtual environment's python"
        stepper.scroll_into_view_if_needed()
        k = 0
        for _ in range(4):
            page.click(".al-stepper button[title='next step (→)']")
            k += 1
            check(k)
        stepper.focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")
            k += 1
            check(k)
        page.keyboard.press("ArrowLeft")
        k -= 1
        check(k)
        print(f"last step applied in {stepper.get_attribute('data-step-ms')} ms")
        shots = DOCS if SCREENSHOTS_TO_DOCS else log.parent
        page.screenshot(path=str(shots / "stepper_jupyterlab.png"))
        # module boxes collapse in the widget too: laid out again by Viz.js in the browser
        page.select_option(".al-stepper .al-levels", label="one box per neuron")
        expect(stepper).to_have_attribute("data-layout", "done", timeout=60_000)
        assert page.locator(".al-viewport g.node.collapsed").count() == 33
        check_current = page.locator(".al-viewport .current").count()
        assert check_current >= 1, "the current step's box is marked in the collapsed picture"
        stepper.focus()
        page.keyboard.press("ArrowRight")
        expect(stepper).to_have_attribute("data-step", str(k + 1), timeout=5_000)
        page.screenshot(path=str(shots / "stepper_jupyterlab_collapsed.png"))
        assert errors == []
    except Exception:
        failure = log.with_name("failure.png")
        page.screenshot(path=str(failure))
        print(f"screenshot at the failure: {failure}\nserver log {log}:\n{log.read_text()[-3000:]}")
        raise
    finally:
        page.close()
