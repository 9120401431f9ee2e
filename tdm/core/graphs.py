"""Graphs of tables (foreign keys): strongly connected components, i.e. the cycles."""

from __future__ import annotations


def components(graph: dict[str, set[str]]) -> dict[str, int]:
    """Strongly connected components (Tarjan, iterative): table -> component number."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    comp: dict[str, int] = {}
    stack: list[str] = []
    counter = [0, 0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child not in comp:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    comp[member] = counter[1]
                    if member == node:
                        break
                counter[1] += 1
    return comp
