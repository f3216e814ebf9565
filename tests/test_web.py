"""``pipir serve``: the page's logic, and the page itself driven in a real headless Chromium.

The browser tests need Debian's chromium and chromium-driver and the ``selenium`` package. CI
(``.ci/run``) installs them and sets ``PIPIR_BROWSER_TESTS=required``, so there a missing browser
fails; elsewhere the browser tests are skipped with the reason shown."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pipir
from pipir.io import read_image
from pipir.web import MODES, Limits, Result, blend, check_upload, restore_upload, task_spec

from .test_train import free_port

REQUIRED = os.environ.get("PIPIR_BROWSER_TESTS") == "required"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def noisy_photo(path: Path, w: int = 96, h: int = 72) -> Path:
    from pipir.data import HELD_OUT, samples

    name = HELD_OUT[0]
    clean = np.asarray(Image.fromarray(samples((name,))[name]).resize((w, h)), dtype=np.float32) / 255
    noisy = pipir.degrade.apply(clean, "noise", seed=0, sigma=25)
    Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(path)
    return path


# ---- the page's logic, without a browser ----------------------------------------------------------


def test_uploads_are_bounded_in_bytes_and_pixels_and_must_be_images(tmp_path):
    limits = Limits(max_bytes=50_000, max_pixels=10_000)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((50, 100, 3), np.uint8)).save(small)
    check_upload(small, limits)  # 5,000 pixels, a few hundred bytes: accepted
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((50, 201, 3), np.uint8)).save(wide)
    with pytest.raises(
        pipir.PipirError, match=r"201×50 \(0.01005 MP\); this server restores at most 0.01 MP"
    ):
        check_upload(wide, limits)
    heavy = tmp_path / "heavy.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (150, 150, 3), np.uint8)).save(heavy)
    with pytest.raises(pipir.PipirError, match="this server takes at most 0.05 MB"):
        check_upload(heavy, limits)
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    with pytest.raises(pipir.PipirError, match="notes.txt is not an image"):
        check_upload(text, limits)
    with pytest.raises(pipir.PipirError, match="upload a photo first"):
        check_upload(None, limits)


def test_the_choice_becomes_the_restore_paths_task():
    assert task_spec(MODES[0], "derain", [0] * 5) == "auto"
    assert task_spec(MODES[1], "derain", [0] * 5) == "derain"
    assert task_spec(MODES[2], "derain", [0.5, 0, 0.5, 0, 0]) == {"denoise": 0.5, "dehaze": 0.5}
    with pytest.raises(pipir.PipirError, match="at least one task"):
        task_spec(MODES[2], "derain", [0] * 5)


def test_strength_blends_input_and_result():
    before = np.full((2, 2, 3), 100, np.uint8)
    after = np.full((2, 2, 3), 200, np.uint8)
    result = Result(before, after, "x.png")
    assert (blend(result, 0) == 100).all() and (blend(result, 1) == 200).all()
    assert (blend(result, 0.25) == 125).all() and blend(result, 0.25).dtype == np.uint8


def test_restore_upload_is_the_restore_path(tmp_path):
    path = noisy_photo(tmp_path / "noisy.png")
    restorer = pipir.load("pipir-tiny", device="cpu")
    result, weights, line = restore_upload(restorer, str(path), "denoise", Limits())
    expected = restorer.restore(read_image(path), task="denoise")
    np.testing.assert_array_equal(result.after, expected.image)
    assert weights == expected.weights and weights["denoise"] == 1.0
    assert line.startswith("96×72, ") and "given: denoise 1.00" in line


def test_serve_refuses_bad_limits_in_one_line():
    run = subprocess.run(
        [sys.executable, "-m", "pipir.launch", "serve", "--max-mb", "0"], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert run.stderr.strip() == "error: --max-mb and --max-mp must be positive"


# ---- the page in a real browser ---------------------------------------------------------------------


def browser_or_skip():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    try:
        import selenium  # noqa: F401
    except ModuleNotFoundError:
        missing.append("the selenium package")
    if missing:
        reason = f"browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server():
    """``pipir serve`` with the default model on the CPU, bounded at 0.05 MP and 1 MB."""
    browser_or_skip()
    port = free_port()
    command = [sys.executable, "-m", "pipir.launch", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--max-mp", "0.05", "--max-mb", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # as many torch threads as this process restores its reference with: on a CPU with AMX, bf16
        # kernels split over another thread count round a few pixels differently
        env={
            **os.environ,
            "GRADIO_ANALYTICS_ENABLED": "False",
            "OMP_NUM_THREADS": str(torch.get_num_threads()),
        },
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pipir serve exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("pipir serve did not answer within 180 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.get(server)
    yield driver
    driver.quit()


def wait_for(driver, css: str, text: str, seconds: float = 120) -> str:
    """The text of ``css`` once it contains ``text``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(lambda d: text in d.find_element(By.CSS_SELECTOR, css).text)
    return driver.find_element(By.CSS_SELECTOR, css).text


def upload_and_restore(driver, path: Path) -> None:
    from selenium.webdriver.common.by import By

    clear = driver.find_elements(By.CSS_SELECTOR, "#upload button[aria-label=Clear]")
    if clear:
        clear[0].click()
    file_input = wait_for_element(driver, "#upload input[type=file]")
    file_input.send_keys(str(path))
    wait_for(driver, "#upload", path.stem, 30)  # the page shows stem and extension apart
    driver.find_element(By.CSS_SELECTOR, "#restore").click()


def wait_for_element(driver, css: str, seconds: float = 30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def test_browser_restores_a_photo_blind_and_shows_weights_and_download(browser, tmp_path):
    from selenium.webdriver.common.by import By

    path = noisy_photo(tmp_path / "noisy.png")
    upload_and_restore(browser, path)
    status = wait_for(browser, "#status", "on cpu")
    expected = pipir.load(device="cpu").restore(read_image(path), task="auto")
    assert status.startswith("96×72, ") and expected.describe(5) in status

    shown = browser.find_elements(By.CSS_SELECTOR, "#compare img")
    assert len(shown) == 2 and all(img.get_attribute("naturalWidth") == "96" for img in shown)
    weights = browser.find_element(By.CSS_SELECTOR, "#weights").text
    top, share = expected.top(1)[0]
    assert f"{top}\n{round(100 * share)}%" in weights  # the bar chart holds the classifier's answer

    link = browser.find_element(By.CSS_SELECTOR, "#download a").get_attribute("href")
    assert link.endswith("noisy-restored.png")
    with urllib.request.urlopen(link, timeout=10) as response:
        (tmp_path / "got.png").write_bytes(response.read())
    np.testing.assert_array_equal(read_image(tmp_path / "got.png"), expected.image)  # full size


@pytest.mark.parametrize(
    "name,make,message",
    [
        ("notes.txt", lambda p: p.write_text("x"), "notes.txt is not an image this server can read"),
        (
            "large.png",
            lambda p: Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(p),
            "the image is 300×300 (0.09 MP); this server restores at most 0.05 MP",
        ),
    ],
)
def test_browser_shows_bad_uploads_as_one_sentence(browser, tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    upload_and_restore(browser, path)
    assert wait_for(browser, "#status", message, 60) == f"Not restored: {message}"


def test_browser_refuses_an_upload_over_the_byte_limit(browser, tmp_path):
    from selenium.webdriver.common.by import By

    path = tmp_path / "heavy.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (700, 700, 3), np.uint8)).save(path)
    assert path.stat().st_size > 1_000_000
    clear = browser.find_elements(By.CSS_SELECTOR, "#upload button[aria-label=Clear]")
    if clear:
        clear[0].click()
    wait_for_element(browser, "#upload input[type=file]").send_keys(str(path))
    toast = wait_for(browser, "body", "exceed the maximum allowed size", 30)
    assert "heavy.png" in toast
