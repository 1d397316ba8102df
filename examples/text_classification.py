"""Text classification: a GRU and a transformer encoder against a bag of words, on generated reviews.

The reviews' sentiment depends on negation ("not bad" is positive) and on clause order ("good but
awful" is negative), so word counts cannot tell it: the bag-of-words logistic regression stays near
chance, the GRU learns the rules from 2,000 reviews, the transformer needs several thousand more.

    python examples/text_classification.py               # the built-in 2,000 reviews
    python examples/text_classification.py --rows 8000   # enough for the transformer too
"""

import argparse
import time

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

import learnable
from learnable.data import split_indices
from learnable.data.datasets.text import make_reviews


def bag_of_words(X, y, seed: int) -> float:
    """Logistic regression on word counts, on the same training and test rows as ``learnable.fit``."""
    parts = split_indices(len(y), validation=0.1, test=0.1, labels=y.astype(str).to_numpy(), seed=seed)
    seen = [*parts.train, *parts.validation]
    words = CountVectorizer(token_pattern=r"\w+|[^\w\s]")
    oracle = LogisticRegression(max_iter=2000).fit(words.fit_transform(X.review.iloc[seen]), y.iloc[seen])
    return oracle.score(words.transform(X.review.iloc[parts.test]), y.iloc[parts.test])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="how many reviews to generate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = make_reviews(args.rows, seed=args.seed)
    print(data.description)
    print("for example:", *data.X.review.iloc[:3], sep="\n  ")
    start = time.perf_counter()
    print(f"bag of words + logistic regression: test accuracy {bag_of_words(data.X, data.y, args.seed):.3f} "
          f"({time.perf_counter() - start:.1f}s)")
    fitted = {}
    for model in ("gru", "transformer"):
        fitted[model] = learnable.fit(data.X, data.y, model=model, seed=args.seed)
        t = fitted[model].training_
        print(f"{model}: test accuracy {fitted[model].metrics_['accuracy']:.3f} ({t['epochs']} epochs, "
              f"kept epoch {t['best_epoch']}, {t['seconds']:.1f}s)")
    texts = ["the battery is not good.", "the screen is bad but the price is great."]
    for text, label in zip(texts, fitted["gru"].predict(texts), strict=True):
        print(f"the GRU reads {text!r} as {label}")


if __name__ == "__main__":
    main()
