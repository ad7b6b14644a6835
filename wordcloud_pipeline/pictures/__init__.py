"""The pictures the pipeline draws from counted words, and how they look.

- ``clouds``: a year's word cloud from its (word, count) pairs, placeholders, UI previews.
- ``masks``: the shapes words are laid out in (the US outline drawn here, or an image file).
- ``animation``: the yearly clouds as one labelled GIF.
- ``plots``: the rank plot of the most frequent words across the years.
- ``style``: ``CloudStyle``, the resource holding every setting of the above.

Only ``style`` imports Dagster: the drawing modules are imported by worker processes in a fresh
interpreter, and stay quick to import there.
"""
