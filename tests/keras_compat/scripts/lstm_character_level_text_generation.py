"""Keras example "Character-level text generation with LSTM"
(keras-team/keras-io examples/generative/lstm_character_level_text_generation.py),
re-created for Lamina.

One-hot character windows, a Sequential model with one LSTM and a softmax
Dense trained with RMSprop, then text sampled character by character with
`predict` at several temperatures. The one-hot arrays use dtype "bool" (the
Keras 3 edition's spelling; `np.bool` no longer exists in NumPy).
"""

import io
import random
import sys

import numpy as np

import lamina as keras  # lamina-compat: import
from lamina import layers  # lamina-compat: import

# lamina-compat: data — Nietzsche's text (get_file download) replaced by a local corpus file.
_corpus = (
    "Supposing that truth is a woman--what then? Is there not ground for suspecting that "
    "all philosophers, in so far as they have been dogmatists, have failed to understand "
    "women--that the terrible seriousness and clumsy importunity with which they have "
    "usually paid their addresses to truth, have been unskilled and unseemly methods for "
    "winning a woman? Certainly she has never allowed herself to be won; and at present "
    "every kind of dogma stands with sad and discouraged mien--if, indeed, it stands at all! "
) * 4
path = "nietzsche.txt"
with open(path, "w", encoding="utf-8") as f:
    f.write(_corpus)
with io.open(path, encoding="utf-8") as f:  # noqa: UP020
    text = f.read().lower()
print("corpus length:", len(text))

chars = sorted(list(set(text)))
print("total chars:", len(chars))
char_indices = dict((c, i) for i, c in enumerate(chars))
indices_char = dict((i, c) for i, c in enumerate(chars))

maxlen = 40
step = 3
sentences = []
next_chars = []
for i in range(0, len(text) - maxlen, step):
    sentences.append(text[i : i + maxlen])
    next_chars.append(text[i + maxlen])
print("nb sequences:", len(sentences))

print("Vectorization...")
x = np.zeros((len(sentences), maxlen, len(chars)), dtype="bool")
y = np.zeros((len(sentences), len(chars)), dtype="bool")
for i, sentence in enumerate(sentences):
    for t, char in enumerate(sentence):
        x[i, t, char_indices[char]] = 1
    y[i, char_indices[next_chars[i]]] = 1


model = keras.Sequential(
    [
        keras.Input(shape=(maxlen, len(chars))),
        layers.LSTM(128),
        layers.Dense(len(chars), activation="softmax"),
    ]
)
optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
model.compile(loss="categorical_crossentropy", optimizer=optimizer)


def sample(preds, temperature=1.0):
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


epochs = 1  # lamina-compat: data (40 epochs cut to 1)
batch_size = 128

for epoch in range(epochs):
    model.fit(x, y, batch_size=batch_size, epochs=1)

    print("Generating text after epoch: %d" % epoch)  # noqa: UP031

    start_index = random.randint(0, len(text) - maxlen - 1)
    for diversity in [0.2, 0.5, 1.0, 1.2]:
        print("----- diversity:", diversity)

        generated = ""
        sentence = text[start_index : start_index + maxlen]
        generated += sentence
        print('----- Generating with seed: "' + sentence + '"')
        sys.stdout.write(generated)

        for i in range(400):  # noqa: B007
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.0

            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]

            sentence = sentence[1:] + next_char

            sys.stdout.write(next_char)
            sys.stdout.flush()
        print()
