"""The README and docs/ stay true to the code: the strategy hyperparameter table
is the one the code generates, every relative link leads somewhere, and the
README stays short and keeps the two commands CI and newcomers run."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bioevo.tasks import docs

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def test_strategy_table_is_current():
    text = (ROOT / "docs" / "strategies.md").read_text()
    assert docs.with_table(text) == text, "run: bioevo docs docs/strategies.md"


def test_table_rewrite_keeps_the_prose_around_it():
    text = f"before\n{docs.BEGIN}\nold rows\n{docs.END}\nafter\n"
    assert docs.with_table(text, "| new |") == f"before\n{docs.BEGIN}\n| new |\n{docs.END}\nafter\n"
    with pytest.raises(ValueError):
        docs.with_table("no markers")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", page.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    assert links(PAGES[0]), "the link pattern finds the README's links"
    for link in links(page):
        if re.match(r"[a-z]+:", link):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} -> {target} does not exist"
        if anchor and target.suffix == ".md":
            assert anchor in anchors(target), f"{page.name}: {link}: no heading '{anchor}' in {target.name}"


def test_readme_is_short_and_keeps_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "```bash\npip install . && python -m bioevo.tasks.train\n```" in readme
    assert "```bash\npip install \".[dev]\" && python -m pytest -q -n auto\n```" in readme
