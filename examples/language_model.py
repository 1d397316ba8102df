"""A character-level language model: learn Shakespeare's style, write some, and score sentences.

A small GPT (or LSTM) reads the shipped corpus (~110 KB of Coriolanus, public domain) and learns to
predict each character from the ones before it. Its validation bits per character are compared with
a unigram model that ignores context; then it writes a passage and scores a real line against the
same letters scrambled.

    python examples/language_model.py              # the transformer, 3 epochs: about 30 s on one core
    python examples/language_model.py lstm 8       # the LSTM, 8 epochs: about a minute
"""

import random
import sys
import time

import torch

import learnable
from learnable import train_language_model
from learnable.data.datasets import load_corpus

torch.set_num_threads(1)  # tiny models: extra threads only wait on each other on a busy machine
kind = sys.argv[1] if len(sys.argv) > 1 else "transformer"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3

text = load_corpus("shakespeare")
start = time.perf_counter()
model = train_language_model(text, model=kind, num_epochs=epochs, seed=0, progress=True)
m, t = model.metrics_, model.training_
print(f"\n{kind}: {t['parameters']:,} parameters, {t['epochs']} epochs ({t['steps']} steps) in "
      f"{time.perf_counter() - start:.0f}s")
saved = 1 - m["val_bits_per_char"] / m["unigram_bits_per_char"]
print(f"validation: {m['val_bits_per_char']:.3f} bits per character; unigram baseline "
      f"{m['unigram_bits_per_char']:.3f} (reading the context saves {saved:.0%})")

print("\n--- sample (temperature 0.8) ---")
print(model.generate("MENENIUS:\n", length=300, temperature=0.8, seed=1))

line = "Now is the winter of our discontent"  # Richard III: not in the corpus
scrambled = "".join(random.Random(0).sample(line, len(line)))
for sentence in (line, scrambled):
    nats, bits = model.score(sentence)
    print(f"\nscore {sentence!r}: {nats:.3f} nats per character, {bits:.2f} bits per character")

path = model.save("models/example-shakespeare-lm")
again = learnable.LanguageModel.load(path)
print(f"\nsaved to {path}; loaded back, it scores the line the same: {again.score(line) == model.score(line)}")
