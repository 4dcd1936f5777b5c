"""The moderators' page in a real browser: the service in a subprocess, headless Chromium driven by
selenium, a comment rejected with a click, the decision seen in /v1/stats."""
import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.test_service import _free_port, wait_ready

CHROMIUM, DRIVER = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromedriver are not installed "
                                                                  "(apt-get install chromium chromium-driver)")
FLAGGED = "Buy cheap pills now at pills-shop.com/deal and cheap-meds.net/x, limited offer!!! <b>bold</b>"


def _call(base, path, body=None, method=None):
    request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read()


@pytest.fixture
def service(tiny_model_path, tmp_path):
    port = _free_port()
    log = open(tmp_path / "serve.log", "w+")
    server = subprocess.Popen([str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port),
                               "--model", str(tiny_model_path), "--db", str(tmp_path / "h.sqlite3")],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, server)
    yield base
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_a_moderator_rejects_a_comment_on_the_page_and_the_stats_count_it(service, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    _, body = _call(service, "/v1/moderate", {"text": FLAGGED, "id": "page-1", "author": "ann"})
    verdict = json.loads(body)
    flagged = [f["rule"] for f in verdict["flags"]]
    assert flagged, verdict
    browser.get(service + "/review")
    item = browser.find_element(By.CSS_SELECTOR, 'article.item[data-id="page-1"]')
    # The text as written (escaped, not rendered as HTML), each flag's evidence marked in its colour.
    assert "<b>bold</b>" in item.find_element(By.CSS_SELECTOR, ".text").text
    marks = item.find_elements(By.CSS_SELECTOR, ".text mark")
    assert {m.get_attribute("title") for m in marks} <= set(flagged) and marks
    checked = [b.get_attribute("value") for b in item.find_elements(By.CSS_SELECTOR, "input[name=rule]") if b.is_selected()]
    assert sorted(checked) == sorted(flagged)
    item.find_element(By.CSS_SELECTOR, "button.reject").click()
    WebDriverWait(browser, 10).until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, '[data-id="page-1"] .status'),
                                                                        "rejected"))
    stats = json.loads(_call(service, "/v1/stats?days=1")[1])["rules"]
    for rule in flagged:
        assert stats[rule]["decided"] == 1 and stats[rule]["upheld"] == 1
    assert json.loads(_call(service, "/v1/queue")[1])["items"] == []
