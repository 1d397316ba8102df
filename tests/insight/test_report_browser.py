"""The run report renders in a real browser: headless Chromium opens the HTML file with the network blocked,
loads every image, logs no error and paints a page that is not blank.

Needs Debian's ``chromium`` and ``chromium-driver`` packages (``make test`` installs them when it can) and
selenium (the ``dev`` extra); skipped, with the reason, without them. LEARNABLE_TEST_CHROMIUM and
LEARNABLE_TEST_CHROMEDRIVER point the test at other binaries."""

import io
import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("LEARNABLE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("LEARNABLE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
INSTALL_HINT = "apt-get install chromium chromium-driver"

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium(tmp_path):
    """A headless Chromium driven by Debian's chromedriver, with no network and a fresh profile."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.is_file():
            pytest.skip(f"{binary} is missing ({INSTALL_HINT})")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        pytest.skip(f"selenium cannot be imported ({error}); install the dev extra")

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # the report must not need the network
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never runs, so nothing is downloaded.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except WebDriverException as error:
        message = (error.msg or str(error)).strip()
        pytest.skip(f"headless Chromium did not start: {message.splitlines()[0] if message else type(error).__name__}")
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _remote_links(html):
    """Every src= or href= value (quoted either way or bare) that points at http(s)."""
    values = re.findall(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", html, flags=re.I)
    return [value for groups in values for value in groups if re.match(r"\s*https?://", value, flags=re.I)]


def test_report_renders_in_headless_chromium(chromium, iris_model, tmp_path):
    from PIL import Image, ImageStat
    from selenium.webdriver.support.ui import WebDriverWait

    path = iris_model.report(tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert _remote_links(html) == [], "the report links to the network"

    chromium.get(path.resolve().as_uri())
    WebDriverWait(chromium, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    assert "learnable report" in chromium.title
    assert "The doctor's findings" in chromium.execute_script("return document.body.innerText")

    images = chromium.execute_script(
        "return Array.from(document.images, i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,"
        " height: i.naturalHeight, src: i.currentSrc.slice(0, 22)}))"
    )
    assert len(images) >= 5, f"only {len(images)} images in the report"
    broken = [image for image in images if not (image["complete"] and image["width"] > 0 and image["height"] > 0)]
    assert broken == [], f"images that did not load: {broken}"
    assert all(image["src"] == "data:image/png;base64," for image in images), "an image is not a PNG data URI"

    # A data URI that fails to decode is logged with the whole URI: keep the message short.
    errors = [entry["message"][-300:] for entry in chromium.get_log("browser") if entry.get("level") == "SEVERE"]
    assert errors == [], f"console errors: {errors}"

    png = chromium.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(png)  # left behind for a look when the test fails
    screenshot = Image.open(io.BytesIO(png)).convert("RGB")
    assert screenshot.width >= 800 and screenshot.height >= 500, screenshot.size
    colours = screenshot.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, f"a nearly blank screenshot: {len(colours)} colours"
    spread = ImageStat.Stat(screenshot.convert("L")).stddev[0]
    assert spread > 10, f"a nearly blank screenshot: grey-level std {spread:.1f}"
