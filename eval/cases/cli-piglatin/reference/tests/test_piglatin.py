from piglatin import translate, translate_word


def test_words() -> None:
    assert translate_word("hello") == "ellohay"
    assert translate_word("apple", dashes=True) == "apple-way"
    assert translate_word("Smile") == "Ilesmay"


def test_text_keeps_punctuation() -> None:
    assert translate("Oh, my!\n") == "Ohway, myay!\n"
