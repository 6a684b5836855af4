"""Loads an HTML page: strips site chrome and scripts with BeautifulSoup, then sections by h1-h3 headings."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, Comment, Tag

from ingest.document import ParsedDocument
from ingest.safety import decode_text
from ingest.sections import Piece, assemble

# Navigation, page chrome and anything executable carry no support content.
CHROME_TAGS = ("script", "style", "noscript", "template", "nav", "aside", "form", "button", "iframe", "svg")
# The page's header and footer are chrome; an article's own <header> holds its title and stays.
PAGE_EDGE_TAGS = ("header", "footer")
CONTENT_TAGS = ("article", "main")
CHROME_ROLES = ("navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search")
HEADING_TAGS = ("h1", "h2", "h3")
# Tags after which the reader sees a line break; paragraphs get a blank line.
_LINE_TAGS = ("br", "li", "dt", "dd", "tr", "h4", "h5", "h6")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "ul", "ol", "dl", "table", "pre", "blockquote")
# A private-use character marks where a heading stood; it cannot occur in real page text we keep.
_MARK = "\ue000"
_SPACES = re.compile(r"[ \t\f\v\xa0]+")
_WHITESPACE = re.compile(r"\s+")


def load_html(path: Path) -> ParsedDocument:
    soup = BeautifulSoup(decode_text(path, path.read_bytes()), "lxml")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    _strip_chrome(soup)
    # Pages that mark their content with <main> keep banners, cookie notices and menus outside it.
    root = soup.find("main") or soup.body or soup
    first_h1 = root.find("h1")
    title = (first_h1.get_text(" ", strip=True) if first_h1 else "") or page_title or path.stem
    _mark_structure(root)
    return assemble(title, _pieces(root.get_text()))


def _strip_chrome(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(CHROME_TAGS):
        tag.decompose()
    for tag in soup.find_all(PAGE_EDGE_TAGS):
        if tag.find_parent(CONTENT_TAGS) is None:
            tag.decompose()
    for tag in soup.find_all(attrs={"role": CHROME_ROLES}):
        tag.decompose()
    for tag in soup.find_all(_is_cookie_notice):
        tag.decompose()
    for comment in soup.find_all(string=lambda node: isinstance(node, Comment)):
        comment.extract()


def _is_cookie_notice(tag: Tag) -> bool:
    names = " ".join([tag.get("id") or "", *(tag.get("class") or [])]).lower()
    return "cookie" in names or "consent" in names


def _mark_structure(body: Tag) -> None:
    """Replace headings by marker lines and give blocks, rows and cells the breaks a reader sees."""
    # Line breaks in HTML source mean nothing to a reader (except in <pre>); only the breaks added
    # below for blocks and rows survive.
    for string in body.find_all(string=True):
        if string.find_parent("pre") is None:
            string.replace_with(_WHITESPACE.sub(" ", str(string)))
    for heading in body.find_all(HEADING_TAGS):
        heading.replace_with(f"\n{_MARK}{heading.name[1]}{heading.get_text(' ', strip=True)}\n")
    for cell in body.find_all(("td", "th")):
        cell.insert_after(" | ")
    for tag in body.find_all(_LINE_TAGS):
        tag.insert_after("\n")
    for tag in body.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")


def _pieces(text: str) -> list[Piece]:
    pieces: list[Piece] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    for raw in text.split("\n"):
        line = _SPACES.sub(" ", raw).strip().removesuffix(" |")
        if not line.startswith(_MARK):
            lines.append(line)
            continue
        pieces.append(Piece("\n".join(lines), headings=tuple(name for _, name in stack)))
        lines = []
        level, name = int(line[1]), line[2:].strip()
        stack = [(depth, heading) for depth, heading in stack if depth < level]
        if name:
            stack.append((level, name))
    pieces.append(Piece("\n".join(lines), headings=tuple(name for _, name in stack)))
    return pieces
