"""Passage HTML: everything escaped (HTML and Markdown), query words and concept
evidence marked, tags always well nested."""

import html
import re
from html.parser import HTMLParser

import pytest

from kb.text.highlight import highlight_html


class _Checker(HTMLParser):
    """Records the tags and text; fails on a closing tag that does not match."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.marks: list[tuple[str, str]] = []  # (class, text inside)
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.text.append("\n")
            for _, inside in self._open:
                inside.append("\n")
            return
        assert tag == "mark", tag
        self.stack.append(tag)
        self._open.append((dict(attrs)["class"], []))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()
        cls, inside = self._open.pop()
        self.marks.append((cls, "".join(inside)))

    def handle_data(self, data):
        self.text.append(data)
        for _, inside in self._open:
            inside.append(data)


def parse(fragment: str) -> _Checker:
    checker = _Checker()
    checker.feed(fragment)
    checker.close()
    assert checker.stack == [], "unclosed tags"
    return checker


def marked(fragment: str, cls: str) -> list[str]:
    return [text for c, text in parse(fragment).marks if c == cls]


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "[enlace](http://x)",
    "*negrita* y _cursiva_ y `código` y # título",
    "Ganancias & pérdidas \"citadas\" 'así' > 3 < 5",
    "$x^2$ y :red[rojo] y ~~tachado~~ | tabla | y www.ejemplo.com",
    "    cuatro espacios\n- lista\n1. numerada\n> cita",
])
def test_document_text_comes_back_literally(text):
    out = highlight_html(text, "")
    assert parse(out).text and "".join(parse(out).text) == text
    assert "<" not in out.replace("<br>", "")  # no tag but the line breaks
    assert "\n" not in out
    # No character Markdown or HTML reads as syntax is left as itself.
    assert not re.search(r"[*_#\[\]`$~|>\\]", re.sub(r"&#?\w+;|<br>", "", out))


def test_script_and_markdown_link_are_escaped():
    out = highlight_html("<script>alert(1)</script> [enlace](http://x) *negrita* A & B", "")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "[" not in out and "](" not in out and "&#91;enlace&#93;" in out
    assert "*" not in out and "&#42;negrita&#42;" in out
    assert "&amp;" in out
    assert html.unescape(out) == "<script>alert(1)</script> [enlace](http://x) *negrita* A & B"


def test_query_words_match_without_accents_and_in_plural():
    out = highlight_html("La Cooperación entre los distritos industriales.", "cooperacion distrito")
    assert marked(out, "q") == ["Cooperación", "distritos"]
    assert '<mark class="q">Cooperación</mark>' in out


def test_stopwords_in_the_query_mark_nothing():
    assert marked(highlight_html("El papel de la confianza", "de la el"), "q") == []


def test_concept_spans_are_marked():
    text = "Un mesoespacio institucional favorece la confianza."
    start = text.index("mesoespacio")
    out = highlight_html(text, "", [(start, start + len("mesoespacio institucional"))])
    assert marked(out, "c") == ["mesoespacio institucional"]
    assert marked(out, "q") == []


def test_overlapping_spans_stay_well_formed():
    text = "La cooperación interempresarial en distritos <b>industriales</b> de México."
    a = text.index("cooperación")
    spans = [(a, a + len("cooperación interempresarial")), (a + 5, text.index("México")), (0, 2)]
    out = highlight_html(text, "interempresarial industriales México", spans)
    checker = parse(out)  # asserts every closing tag matches the innermost open one
    assert "".join(checker.text) == text
    assert "interempresarial" in marked(out, "q")
    assert any("cooperación interempresarial" in m for m in marked(out, "c"))
    # A query word inside a concept span is nested in it, never interleaved.
    assert re.search(r'<mark class="c">[^<]*(?:<mark class="q">[^<]*</mark>[^<]*)+</mark>', out)


def test_newlines_and_out_of_range_spans():
    text = "Primera línea\nsegunda línea"
    out = highlight_html(text, "segunda", [(-5, 3), (22, 500)])
    assert "<br>" in out and "\n" not in out
    checker = parse(out)
    assert "".join(checker.text) == text
    assert marked(out, "q") == ["segunda"]
    assert marked(out, "c") == ["Pri", "línea"]


def test_empty_text():
    assert highlight_html("", "algo", [(0, 3)]) == ""


def test_a_quote_is_found_in_its_passage_across_line_breaks():
    from kb.text.highlight import find_span

    passage = "Antes.\nEl distrito es una\nentidad socio-territorial (Becattini). Después."
    start, end = find_span(passage, "El distrito es una entidad socio-territorial (Becattini).")
    assert passage[start:end] == "El distrito es una\nentidad socio-territorial (Becattini)."
    assert find_span(passage, "El clúster es otra cosa.") is None and find_span(passage, "  ") is None
