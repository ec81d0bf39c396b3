"""Sentences a passage can quote: extraction leaves blank lines inside sentences."""

from kb.text.quotes import glued, quotable, sentences


def spans(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


def test_a_sentence_cut_by_a_blank_line_is_one_sentence():
    text = ("En ambos casos el sector constituye una categoría subordinada en el caso del distrito o de un\n\n"
            "agrupamiento territorial de empresas en el caso del cluster. Porter señala otra cosa.")
    assert spans(text) == [
        "En ambos casos el sector constituye una categoría subordinada en el caso del distrito o de un\n\n"
        "agrupamiento territorial de empresas en el caso del cluster.",
        "Porter señala otra cosa.",
    ]


def test_a_heading_stays_apart_from_the_paragraph_under_it():
    text = "C) Métodos utilizados\n\nLos análisis de los distritos son ejercicios minuciosos."
    assert spans(text) == ["C) Métodos utilizados", "Los análisis de los distritos son ejercicios minuciosos."]


def test_a_finished_sentence_is_not_joined_to_a_lowercase_paragraph():
    text = "El distrito es una entidad socio-territorial.\n\nsegún Becattini, una comunidad de personas."
    assert spans(text) == ["El distrito es una entidad socio-territorial.",
                           "según Becattini, una comunidad de personas."]


def test_text_glued_across_a_footnote_is_not_one_quotable_sentence():
    """A footnote or another column lands inside a sentence of the body: after its last
    period the body goes on in lowercase, and the splitter cannot cut there."""
    assert glued("Son interesantes los trabajos de Dei Ottati sobre el distrito de Prato en Italia. "
                 "de transformación productiva que los empresarios consideran prioritarias.")
    assert glued("Véanse Dini (2009; 2010) y Llinás (2021). permitan a los integrantes participar.")
    # Abbreviations and initials are not sentence ends.
    assert not glued("Como señalan Aboal et al. (2020) las políticas deben ser integrales.")
    assert not glued("Se vendían muebles, ropa, etc. y otros productos de la región.")
    assert not glued("Véase p. ej. el caso de Saraví, G. A. en su trabajo sobre México.")


def test_the_answer_and_the_comparison_quote_by_one_rule():
    """The answer used to quote footnotes that a comparison cell refused: one function decides for both."""
    from kb.ask import answer, compare

    assert answer.quotable is compare.quotable is quotable
    footnote = "1 Se exponen aquí los resultados de la encuesta a las empresas del distrito."
    heading = "2.1 Economías externas y aglomeración productiva"
    assert not quotable(footnote) and not quotable(heading)
    assert quotable("El distrito industrial combina cooperación y competencia entre empresas.")
    assert quotable("• las empresas comparten proveedores, trabajadores y clientes;") is False  # lowercase start
    assert quotable("• Las empresas comparten proveedores, trabajadores y clientes;")


def test_a_sentence_begun_inside_an_earlier_parenthesis_is_not_quoted():
    """The FOMIN/BID table puts a whole paragraph in parentheses: its second sentence
    alone would be quoted with a bracket it never opened."""
    text = ("(En ambos casos se recurre a formas reticulares y a estrategias de colaboración. Sin embargo, "
            "hay una diferente percepción de la confianza y de la rivalidad respecto a los rendimientos de las "
            "empresas).")
    first, second = spans(text)
    assert quotable(first) and not quotable(second)
    # A list item's number is no bracket left open.
    assert quotable("2) Superar la desconexión entre estas iniciativas y las estrategias de desarrollo territorial.")
    assert quotable("(ii) La cooperación entre empresas reduce los costos de transacción (Porter, 1998).")
