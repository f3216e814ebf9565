"""Draw the two pictures the README points to, on demand (figures are not stored in the repository):

    python docs/people_figures.py [--photos data/photos]

- docs/figures/explain.png: `pipir explain` on a validation photo with haze added, blind;
- docs/figures/web.png: the `pipir serve` page in headless Chromium after restoring that photo.

Needs the web and figures extras, Debian's chromium and chromium-driver, and `pipir data photos`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from pipir import degrade
from pipir.data.photos import normalise, photo_files
from pipir.explain import explain, figure
from pipir.hub import load

FIGURES = Path(__file__).with_name("figures")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
)


def hazy_photo(photos: str, path: Path) -> Path:
    with Image.open(photo_files(photos, "validation")[3]) as im:
        clean = np.asarray(normalise(im, max_side=512), dtype=np.float32) / 255
    Image.fromarray(np.round(degrade.apply(clean, "haze", seed=1) * 255).astype(np.uint8)).save(path)
    return path


def screenshot(photo: Path, out: Path, port: int = 7891) -> None:
    """Serve the page, upload ``photo``, restore blind, save the window."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = subprocess.Popen([sys.executable, "-m", "pipir.launch", "serve", "--port", str(port)])
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (*FLAGS, "--window-size=1400,1050"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(f"http://127.0.0.1:{port}/")
            WebDriverWait(driver, 30).until(
                lambda d: d.find_element(By.CSS_SELECTOR, "#upload input[type=file]")
            )
            driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(photo))
            WebDriverWait(driver, 30).until(
                lambda d: photo.stem in d.find_element(By.CSS_SELECTOR, "#upload").text
            )
            driver.find_element(By.CSS_SELECTOR, "#restore").click()
            WebDriverWait(driver, 300).until(
                lambda d: " s on " in d.find_element(By.CSS_SELECTOR, "#status").text
            )
            time.sleep(1)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", default="data/photos")
    args = parser.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    photo = hazy_photo(args.photos, FIGURES / "hazy.png")
    restorer = load(device="cpu")
    figure(
        explain(restorer, np.asarray(Image.open(photo))),
        FIGURES / "explain.png",
        f"hazy photo: {restorer.name}",
    )
    screenshot(photo, FIGURES / "web.png")
    print(f"wrote {FIGURES / 'explain.png'} and {FIGURES / 'web.png'}")


if __name__ == "__main__":
    main()
