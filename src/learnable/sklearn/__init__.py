"""learnable's estimators with scikit-learn's contract, for ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

- :class:`NeuralNetClassifier`, :class:`NeuralNetRegressor`: an MLP trained by learnable's Learner.
- ``learnable.classic`` under scikit-learn's parameter names (``random_state``, not ``seed``):
  :class:`KMeans`, :class:`PCA`, :class:`AgglomerativeClustering`; :class:`LinearRegression`,
  :class:`Ridge`, :class:`Lasso`, :class:`LogisticRegression`, :class:`LinearSVC` (PyTorch, a GPU when
  present); :class:`DecisionTreeClassifier`, :class:`DecisionTreeRegressor` (kept as arrays).
  ``estimator_`` is the fitted learnable estimator: ``estimator_.save(directory)`` writes it without pickle.

Every class constructs with no arguments, only stores its parameters in ``__init__``, checks its input
with scikit-learn's ``validate_data`` and passes scikit-learn's ``check_estimator`` (the checks it cannot
pass are listed, with why, in tests/test_sklearn.py). ``random_state`` as a whole number makes a fit
repeatable.

Example:
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from learnable.sklearn import PCA, NeuralNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> pipeline = make_pipeline(StandardScaler(), PCA(n_components=3),
    ...                          NeuralNetClassifier(num_epochs=50, lr=0.01, random_state=0))
    >>> search = GridSearchCV(pipeline, {"neuralnetclassifier__hidden_sizes": [(8,), (32,)]}, cv=3).fit(X, y)
    >>> bool(search.best_score_ > 0.85)
    True
"""

from learnable.sklearn.classic import PCA, AgglomerativeClustering, KMeans
from learnable.sklearn.linear import Lasso, LinearRegression, LinearSVC, LogisticRegression, Ridge
from learnable.sklearn.neural import NeuralNetClassifier, NeuralNetRegressor
from learnable.sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = [
    "PCA",
    "AgglomerativeClustering",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KMeans",
    "Lasso",
    "LinearRegression",
    "LinearSVC",
    "LogisticRegression",
    "NeuralNetClassifier",
    "NeuralNetRegressor",
    "Ridge",
]
