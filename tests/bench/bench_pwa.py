"""Benchmark: the auditors' app on a throttled "mid-range phone on a slow connection".

Chromium (the system's) is throttled through the DevTools protocol: 150 ms round trip, 1.6 Mbps
down, 750 kbps up, CPU 4x slower. Against the real server it reports:
- the app shell's first load: bytes transferred (compressed, headers included) for everything
  the auditor needs to start, largest contentful paint (LCP) and total blocking time (TBT);
- the repeat load, served by the service worker;
- opening a 200-item checklist until it answers a tap, as 10 sections of 20 and as 1 section of 200.
Targets: shell < 100 KB, LCP < 2.5 s, repeat load < 1 s, 200 items interactive < 100 ms.
Run: python tests/bench/bench_pwa.py
"""

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.live import AUDITOR, AUDITOR_PASSWORD, CHROMIUM_ARGS, LOCATIONS_READY, REPO, LiveServer, choose_location, chromium  # noqa: E402

SLOW = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
# Started before the page's own scripts: long tasks and the LCP candidate as they happen.
OBSERVE = """
window.__perf = { longTasks: [], lcp: 0 };
new PerformanceObserver(l => { for (const e of l.getEntries()) window.__perf.longTasks.push([e.startTime, e.duration]); }).observe({ type: "longtask" });
new PerformanceObserver(l => { for (const e of l.getEntries()) window.__perf.lcp = e.startTime; }).observe({ type: "largest-contentful-paint", buffered: true });
"""


def big_brand(folder: Path) -> Path:
    """The demo brand plus two 200-item checklists: 10 sections of 20, and one section of 200."""
    brand = folder / "harbor"
    shutil.copytree(REPO / "checklists" / "harbor", brand, ignore=shutil.ignore_patterns("examples"))
    text = (brand / "brand.yaml").read_text().replace("  - website\n", "  - website\n  - big\n  - long\n")
    (brand / "brand.yaml").write_text(text)
    for name, sections in (("big", 10), ("long", 1)):
        per = 200 // sections
        lines = [f"id: {name}", f"title: Two hundred items ({sections} section{'s' if sections > 1 else ''})", "mode: in_person", "sections:"]
        for s in range(sections):
            lines += [f"  - id: s{s}", f"    title: Part {s + 1}", "    items:"]
            for i in range(per):
                n = s * per + i
                kind = "type: yes_no, na: true" if n % 3 else "type: scale, min: 1, max: 5"
                lines.append(f"      - {{id: q{n}, text: 'Question {n + 1}: was this part of the visit as promised?', {kind}, help: 'A hint for question {n + 1}.'}}")
        (brand / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return folder


def throttle(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", SLOW)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    return cdp


def first_load(context, url: str) -> dict:
    page = context.new_page()
    page.add_init_script(OBSERVE)
    cdp = throttle(context, page)
    sizes: dict[str, float] = {}
    names: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: names.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(url + "/", wait_until="load")
    page.wait_for_selector("#name")
    page.wait_for_timeout(1500)  # let late requests (the manifest, its icon) and paints settle
    perf = page.evaluate("window.__perf")
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0")
    files = sorted((names.get(k, k).replace(url, ""), v) for k, v in sizes.items())
    page.close()
    return {
        "bytes": sum(v for _, v in files), "files": files, "lcp": perf["lcp"], "fcp": fcp,
        "tbt": sum(max(0, d - 50) for start, d in perf["longTasks"] if start >= fcp),
    }


def repeat_load(context, url: str) -> dict:
    page = context.new_page()
    page.add_init_script(OBSERVE)
    throttle(context, page)
    page.goto(url + "/#/", wait_until="load")
    page.wait_for_selector("#main h2")
    timing = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0]; return {load: n.loadEventEnd, controlled: navigator.serviceWorker.controller !== null, drawn: performance.now()}; })()")
    page.wait_for_timeout(500)
    timing["lcp"] = page.evaluate("window.__perf.lcp")
    page.close()
    return timing


OPEN = """async (id) => {
  const t0 = performance.now();
  location.hash = '#/visit/' + id;
  await new Promise(r => addEventListener('tp:visit-ready', r, { once: true }));
  const ready = performance.now();
  // the next frame is drawn and the main thread is free again: a tap is handled now
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const input = document.querySelector('fieldset.item input');
  const t1 = performance.now();
  input.click();
  const tapped = performance.now() - t1;
  return { ready: ready - t0, interactive: performance.now() - t0 - tapped, tap: tapped, items: document.querySelectorAll('fieldset.item').length };
}"""


def open_checklist(context, url: str, title: str, rounds: int = 7) -> dict:
    page = context.new_page()
    page.goto(url + "/#/")
    throttle(context, page)
    results = []
    for _ in range(rounds):
        page.goto(url + "/#/")
        choose_location(page, "bath-1")
        page.get_by_label(title).check()
        page.get_by_role("button", name="Start visit").click()
        page.wait_for_selector("#step")
        draft = page.evaluate("location.hash.split('/')[2]")
        page.goto(url + "/#/")
        page.wait_for_selector("#location-search")
        page.evaluate("performance.clearMarks()")
        results.append(page.evaluate(OPEN, draft))
    page.close()
    return {k: statistics.median(r[k] for r in results) for k in ("ready", "interactive", "tap", "items")}


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    server = LiveServer(folder, checklists=big_brand(folder / "checklists")).start()
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(folder / "profile", executable_path=chromium(), args=CHROMIUM_ARGS,
                                                           viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
            first = first_load(context, server.url)
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(server.url + "/")
            page.fill("#name", AUDITOR)
            page.fill("#password", AUDITOR_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector(LOCATIONS_READY, state="attached")
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            repeats = [repeat_load(context, server.url) for _ in range(5)]
            sections = open_checklist(context, server.url, "Two hundred items (10 sections)")
            single = open_checklist(context, server.url, "Two hundred items (1 section)")
            context.close()
    finally:
        server.stop()
    print("Chromium throttled: 150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4x slower; 360 x 740 phone screen")
    print("first load of the app shell (sign-in screen, cold cache):")
    for name, size in first["files"]:
        print(f"  {size / 1024:6.1f} KB  {name}")
    print(f"  transferred, compressed:     {first['bytes'] / 1024:6.1f} KB   (target < 100 KB)")
    print(f"  first contentful paint:      {first['fcp']:6.0f} ms")
    print(f"  largest contentful paint:    {first['lcp']:6.0f} ms   (target < 2,500 ms)")
    print(f"  total blocking time:         {first['tbt']:6.0f} ms")
    loads = [r["load"] for r in repeats]
    print(f"repeat load from the service worker (median of {len(loads)}; controlled: {all(r['controlled'] for r in repeats)}):")
    print(f"  load event:                  {statistics.median(loads):6.0f} ms   (target < 1,000 ms)")
    print(f"  largest contentful paint:    {statistics.median(r['lcp'] for r in repeats):6.0f} ms")
    for label, r in (("10 sections of 20", sections), ("1 section of 200", single)):
        print(f"open a 200-item checklist, {label} (median of 7; {r['items']:.0f} items drawn):")
        print(f"  drawn:                       {r['ready']:6.1f} ms")
        print(f"  interactive (answers a tap): {r['interactive']:6.1f} ms   (target < 100 ms)")


if __name__ == "__main__":
    main()
