"""bioie-kedro: reproducible biomedical NER and relation extraction pipelines on Kedro.

Importing the package is cheap on purpose: torch, transformers and TRL are imported only inside the
nodes that need them, so ``kedro registry list`` and ``kedro viz`` stay fast.
"""

__version__ = "0.1.0"
