"""ldb view in a real browser: Debian's Chromium, headless, driven by Selenium with the
system chromedriver (no browser download; the machine may have no network). The page
is opened from file://, as a user or a CI artifact would open it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ldb_clone.filters import select_filtered
from ldb_clone.view import write_view
from tests.view.conftest import IMAGES, KOREAN, korean_spans

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("LDB_TEST_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)

NO_CHROMIUM = not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER))
IN_CI = os.environ.get("CI") == "true"  # .ci/run installs Chromium: missing, the tests fail
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        NO_CHROMIUM and not IN_CI,
        reason="no Chromium (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture
def browser():
    if NO_CHROMIUM:
        pytest.fail(f"CI needs {CHROMIUM} and {CHROMEDRIVER} (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="ldb-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(instance, sample, tmp_path, browser):
    out = tmp_path / "site"
    write_view(instance, select_filtered(instance, ["ds:root"], []), out, "ldb view: ds:root")
    browser.get((out / "index.html").as_uri())
    return browser


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def test_cards_thumbnails_and_boxes_match_the_selection(page, sample):
    cards = css(page, "[data-object-id]")
    assert len(cards) == len(IMAGES) + 2
    assert {c.get_attribute("data-object-id") for c in cards} >= set(sample.image_ids)
    thumbs = css(page, ".card img")
    assert len(thumbs) == len(IMAGES) + 1
    from selenium.webdriver.support.ui import WebDriverWait

    page.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    loaded = (  # lazy images load after the scroll, asynchronously
        "return Array.from(document.querySelectorAll('.card img'))"
        ".filter(function (i) { return i.complete && i.naturalWidth > 0; }).length"
    )
    WebDriverWait(page, 30).until(lambda d: d.execute_script(loaded) == len(thumbs))
    boxes = css(page, "[data-box-label]")
    assert sorted(b.get_attribute("data-box-label") for b in boxes) == sorted(
        box[0] for _, found in IMAGES for box in found
    )
    assert all(b.is_displayed() for b in boxes)


def test_label_filter_hides_the_others(page, sample):
    from selenium.webdriver.support.ui import Select

    Select(css(page, "#label-filter")[0]).select_by_value("dog")
    shown = {c.get_attribute("data-object-id") for c in css(page, "[data-object-id]")}
    with_dog = {
        oid
        for oid, (label, boxes) in zip(sample.image_ids, IMAGES)
        if label == "dog" or any(box[0] == "dog" for box in boxes)
    }
    assert shown == with_dog
    Select(css(page, "#label-filter")[0]).select_by_value("")
    assert len(css(page, "[data-object-id]")) == len(IMAGES) + 2


def test_entities_are_highlighted_at_their_characters(page):
    marks = css(page, "[data-entity-type]")
    found = {m.get_attribute("data-entity-type"): m.text for m in marks}
    assert found == {t: KOREAN[start:end] for t, (start, end) in korean_spans().items()}
    text = css(page, ".text")[0]
    offsets = page.execute_script(
        """
        var box = arguments[0], result = {}, position = 0;
        box.childNodes.forEach(function (node) {
          var length = Array.from(node.textContent).length;
          if (node.dataset && node.dataset.entityType)
            result[node.dataset.entityType] = [position, position + length];
          position += length;
        });
        return result;
        """,
        text,
    )
    assert {k: tuple(v) for k, v in offsets.items()} == korean_spans()


def test_screenshot_is_saved_as_an_artifact(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "view.png"
    assert page.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("LDB_UPDATE_DOCS_SCREENSHOT"):
        shutil.copyfile(path, Path(__file__).parents[2] / "docs" / "view.png")


def test_first_page_shows_120_objects_and_paging_shows_the_rest(
    instance, data_dir, tmp_path, browser
):
    from tests.conftest import write_image
    from tests.helpers import run_index

    folder = data_dir / "many"
    for n in range(130):
        write_image(folder / f"{n:03}.png", seed=3000 + n)
    run_index(instance, folder, fmt="bare")
    members = select_filtered(instance, ["ds:root"], [])
    out = tmp_path / "site"
    write_view(instance, members, out)
    browser.get((out / "index.html").as_uri())
    first = [c.get_attribute("data-object-id") for c in css(browser, "[data-object-id]")]
    assert first == [m.object_id for m in members[:120]]
    css(browser, "#next")[0].click()
    rest = [c.get_attribute("data-object-id") for c in css(browser, "[data-object-id]")]
    assert rest == [m.object_id for m in members[120:]]
    assert "121–130 of 130" in css(browser, "#pager")[0].text
