"""The one-liner: train, inspect, save and reload a classifier on a built-in table.

    python examples/fit_in_one_line.py
"""

import learnable

X, y, description = learnable.data.datasets.load("breast-cancer")
print(description)
model = learnable.fit(X, y, seed=1, progress=True)
print(model.summary())
model.save("models/breast-cancer")
again = learnable.load("models/breast-cancer")
print("reloaded predictions agree:", (again.predict(X) == model.predict(X)).all())
