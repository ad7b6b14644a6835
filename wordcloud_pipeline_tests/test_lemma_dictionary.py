"""The lemma dictionary made from lemminflect's table, in the format spark-nlp's Lemmatizer reads."""

from __future__ import annotations

from spark_scripts import lemma_dictionary as ld


def test_nouns_fold_and_other_parts_of_speech_do_not():
    lines = [
        "Stories,noun,story\n",
        "wolves,noun,wolf\n",
        "cooking,verb,cook\n",
        "best,adj,good/well\n",
        "leaves,verb,leave\n",
        "leaves,noun,leaf/leave\n",
        "Bills,noun,Bill\n",
        "bills,noun,bill\n",
        "news,noun,news\n",
        "'s,verb,be\n",
        "x-rays,noun,x-ray\n",
    ]
    assert ld.form_to_lemma(lines) == {
        "stories": "story",
        "wolves": "wolf",
        "leaves": "leaf",
        "bills": "bill",
    }


def test_dictionary_text_is_spark_nlp_format_one_lemma_a_line():
    text = ld.dictionary_text({"wolves": "wolf", "stories": "story", "wolfs": "wolf"})
    assert text == "story -> stories\nwolf -> wolfs\twolves\n"
    for line in text.splitlines():
        lemma, forms = line.split(ld.KEY_DELIMITER)
        assert lemma.strip() and all(forms.strip().split(ld.VALUE_DELIMITER))


def test_the_real_table_gives_the_folds_titles_need(tmp_path):
    path = ld.ensure_dictionary(tmp_path)
    assert path.parent == tmp_path and path.name.startswith("lemmas-lemminflect-")
    pairs = {
        form: lemma.strip()
        for lemma, forms in (line.split(" -> ") for line in path.read_text("utf-8").splitlines())
        for form in forms.split("\t")
    }
    assert len(pairs) > 15_000
    expected = {"stories": "story", "children": "child", "mice": "mouse", "lives": "life"}
    assert {form: pairs[form] for form in expected} == expected
    assert not {"news", "cooking", "physics", "christmas"} & set(pairs)
    # Made once: a second call reuses the file.
    mtime = path.stat().st_mtime_ns
    assert ld.ensure_dictionary(tmp_path) == path and path.stat().st_mtime_ns == mtime
