"""The lecture's first picture: a SimpleRNN of 3 units learns "hello" over the letters {h, e, l, o}.

    python docs/hello_rnn.py

Trains the one-hot char-RNN, writes "ello" after "h", then prints what the
lecture draws: at each step the letter read, the 3 hidden units (replayed
from the layer's weights by `seqapps.inspect.trace`) and the letter
predicted, and how the gradient of the last step's state fades with the
distance back (`seqapps.inspect.gradient_flow`). The two l's need different
successors ("l" then "o"), so the hidden state must remember how far into the
word it is.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    import keras
    import numpy as np

    from seqapps import inspect
    from seqapps.tasks import TextGenerator

    keras.utils.set_random_seed(0)
    model = TextGenerator(list("helo"), cell="rnn", units=3, embedding_dim=None)
    inputs, targets = model.windows(["hello"], length=5)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(
        np.repeat(inputs, 100, 0), np.repeat(targets, 100, 0), batch_size=1, epochs=3, verbose=0
    )
    written = model.generate("h", max_length=4, temperature=0)
    print(f'after "h" the model writes "{written}"\n')

    states = inspect.trace(model, ["hell"])[0]["h"]
    logits = model.predict(np.array([model.token_ids("hell")]), verbose=0)[0]
    tokens = model.tokenizer.tokens
    print("read  hidden state (3 tanh units)    predicts")
    for letter, state, row in zip("hell", states, logits):
        units = " ".join(f"{value:+.2f}" for value in state)
        print(f"  {letter}   [{units}]      {tokens[int(row.argmax())]}")
    norms = inspect.gradient_flow(model, ["hell"])
    print("\ngradient norm of the last state by steps back:", " ".join(f"{n:.3f}" for n in norms))
    return written, states, norms


if __name__ == "__main__":
    main()
