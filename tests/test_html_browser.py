"""The HTML pages in a real browser: Debian's chromium, headless, driven by selenium
through chromium-driver.  The triage page and every report it links load with no
console error, their sections are there, the table of contents and the links from the
triage page reach what they name.  Skipped where chromium is not installed, but not on
CI (CI=true), whose .ci/run installs it."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLES, sample_manifest

from xcrash import cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, DRIVER) if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {', '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"no {', '.join(missing)} here")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="xcrash-chromium-")
    opts = webdriver.ChromeOptions()
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """xcrash triage --html over one dump of each sample crash (Linux and Xen)."""
    man = sample_manifest()
    out = tmp_path_factory.mktemp("site")
    dumps = [str(SAMPLES / man["dumps"][n]["files"][0]["path"])
             for n in ("linux-sysrq", "linux-nmi", "xen-own")]
    syms = [a for s in ("vmlinux-6.1-xcrash.xz", "vmlinux-6.1-xcrash-guest",
                        "xen-syms-4.17.5-xcrash.xz")
            for a in ("--sym", str(SAMPLES / "symbols" / s))]
    assert cli.main(["triage", "--workers", "0", "--no-cache", "--html", str(out), *syms,
                     *dumps], fast_exit=False) == 0
    return out


def errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def test_the_browser_reports_console_errors(browser: Any, tmp_path: Path) -> None:
    """The check below can fail: a page with a broken script is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><title>x</title><script>undefined_function()</script>")
    browser.get(page.as_uri())
    assert errors(browser)


def test_triage_page_and_its_reports(browser: Any, site: Path) -> None:
    browser.get((site / "index.html").as_uri())
    assert browser.title == "xcrash triage"
    assert errors(browser) == []
    assert browser.find_element("css selector", "svg#chart").is_displayed()
    dots = browser.find_elements("css selector", "svg#chart circle")
    assert len(dots) == 3
    groups = browser.find_elements("css selector", "table#groups tr[id^=group-]")
    assert len(groups) == 3
    links = [a.get_attribute("href") for a in browser.find_elements("css selector", "a.report")]
    assert len(links) == 3
    for link in links:
        browser.get(link)
        assert errors(browser) == [], link
        assert browser.title.startswith("xcrash report: ")
        sections = browser.find_elements("css selector", "details.section")
        assert len(sections) >= 9
        assert all(s.get_attribute("open") is not None for s in sections)
        toc = browser.find_elements("css selector", "nav#toc a")
        ids = {s.get_attribute("id") for s in sections} | {
            t.get_attribute("id") for t in browser.find_elements("css selector", "section.target")}
        targets = [a.get_attribute("href").split("#", 1)[1] for a in toc]
        assert targets and set(targets) <= ids
        summary = browser.find_element("css selector", "table#summary").text
        assert "Signature" in summary


def test_sections_collapse(browser: Any, site: Path) -> None:
    report = next((site / "reports").glob("vmcore.kdump.xz-*.html"))
    browser.get(report.as_uri())
    assert errors(browser) == []
    assert {e.text for e in browser.find_elements("css selector", "section.target h2")} >= {
        "xen: xen 4.17.5", "dom0: PV linux 6.1.192-xcrash"}
    first = browser.find_element("css selector", "details.section")
    pre = first.find_element("css selector", "pre")
    assert pre.is_displayed()
    first.find_element("css selector", "summary").click()
    assert first.get_attribute("open") is None and not pre.is_displayed()
    # the chart's dot of this dump on the triage page leads here too
    browser.get((site / "index.html").as_uri())
    anchors = browser.find_elements("css selector", "svg#chart a")
    hrefs = [a.get_dom_attribute("href") for a in anchors]
    assert f"reports/{report.name}" in hrefs
    dot = anchors[hrefs.index(f"reports/{report.name}")].find_element("css selector", "circle")
    dot.click()
    assert browser.current_url == report.as_uri() and errors(browser) == []
