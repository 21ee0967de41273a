"""The text stage: what customers and staff wrote (ticket descriptions, visit notes, test
feedback, project descriptions) turned into rows the warehouse can use.

    clean        one text -> normalised text + flags (empty, html, mojibake, too long, ...)
    segment      Chinese/English words with jieba and the domain dictionary (lexicon/)
    requirements technical requirements as (property, comparator, value in SI, unit)
    topics       topics discovered with TF-IDF + NMF, named from lexicon/topics.yml
    stage        the warehouse task: staging.stg_text__documents -> texts.* tables

A library (DESIGN.md layers): it imports only portrait's base. See docs/text.md.
"""
