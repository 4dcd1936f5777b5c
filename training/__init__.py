"""Training and evaluation: labelled data in, a verified model file out (``training.train.train``).

Nothing is imported here: scoring with an existing model imports ``training.default`` to check it,
and must not import scikit-learn (most of a served model's start-up) on the way.
"""
