"""The lineage graph as the Dagster UI draws it (SVG: a foreignObject per asset, a path with an
arrow per edge), read and zoomed from Playwright."""

from __future__ import annotations

from playwright.sync_api import Page

# Every node of the lineage graph (its label and box) and every edge (its two ends), on screen.
GRAPH_JS = """() => {
  const nodes = [...document.querySelectorAll('svg foreignObject')].map(f => {
    const label = f.querySelector('[data-tooltip]');
    const r = f.getBoundingClientRect();
    return {label: label && label.getAttribute('data-tooltip'),
            l: r.left, r: r.right, t: r.top, b: r.bottom};
  });
  const edges = [...document.querySelectorAll('svg path[marker-end]')].map(p => {
    const m = p.getScreenCTM(), at = s => p.getPointAtLength(s).matrixTransform(m);
    const a = at(0), b = at(p.getTotalLength());
    return {x0: a.x, y0: a.y, x1: b.x, y1: b.y};
  });
  return {nodes, edges};
}"""
NODES = "document.querySelectorAll('svg foreignObject')"
# Whether every node lies inside the graph's viewport: below the toolbar drawn over its top,
# left of the zoom buttons.
FITS_JS = """() => {
  const zoom = document.getElementById('zoom-slider-container');
  const view = zoom.parentElement.getBoundingClientRect();
  const right = Math.min(view.right, zoom.getBoundingClientRect().left);
  let bar = document.querySelector('[aria-label="Search and filter assets"]');
  while (bar && bar.getBoundingClientRect().width < 0.95 * view.width) bar = bar.parentElement;
  const top = bar ? bar.getBoundingClientRect().bottom : view.top;
  return [...document.querySelectorAll('svg foreignObject')].every(f => {
    const r = f.getBoundingClientRect();
    return r.top >= top && r.bottom <= view.bottom && r.left >= view.left && r.right <= right;
  });
}"""


def graph_on_screen(page: Page) -> tuple[set[str], list[tuple[str, str]]]:
    """The labels of the drawn nodes, and each drawn edge as (from, to): an edge leaves the
    right side of one node and ends (under its arrow) at the left side of another. The pointer
    is moved off the graph first: hovering a node draws its edges a second time, highlighted."""
    page.mouse.move(1, 1)
    page.wait_for_timeout(500)
    drawn = page.evaluate(GRAPH_JS)
    nodes = drawn["nodes"]

    def node(x: float, y: float, side: str, slack: tuple[float, float]) -> str:
        for n in nodes:
            if slack[0] <= n[side] - x <= slack[1] and n["t"] <= y <= n["b"]:
                return n["label"]
        return f"? at ({x:.0f}, {y:.0f})"

    edges = [
        (node(e["x0"], e["y0"], "r", (-3, 3)), node(e["x1"], e["y1"], "l", (-3, 15)))
        for e in drawn["edges"]
    ]
    return {n["label"] for n in nodes}, sorted(edges)


def zoom(page: Page, way: str) -> bool:
    """One step of the graph's zoom buttons ("in" or "out"); whether the graph then fits."""
    page.locator(f"button:has([aria-label=zoom_{way}])").click()
    page.wait_for_timeout(400)
    return page.evaluate(FITS_JS)


def zoom_to_fit(page: Page) -> None:
    """Out until every node shows, then in as far as they all still do."""
    fits = page.evaluate(FITS_JS)
    for _ in range(8):
        if fits:
            break
        fits = zoom(page, "out")
    assert fits, "the lineage graph does not fit the window even zoomed out"
    for _ in range(4):
        if not zoom(page, "in"):
            assert zoom(page, "out"), "zooming back out no longer fits the graph"
            return


def wait_for_graph(page: Page, nodes: int = 1) -> None:
    """Until at least `nodes` assets are drawn. (A function, not a bare expression: the UI's
    Content-Security-Policy forbids the eval a bare expression needs.)"""
    page.wait_for_function(f"n => {NODES}.length >= n", arg=nodes)
