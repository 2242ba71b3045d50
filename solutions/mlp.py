"""A two-layer neural network for MNIST in plain NumPy.

Implement a fully connected network ``input -> hidden (ReLU) -> output
(softmax)`` trained with cross-entropy loss and plain stochastic gradient
descent. Only NumPy and the standard library may be used.

Shapes, for a batch of ``N`` images with the default sizes::

    X  (N, 784)      float, pixel values in [0, 1]
    W1 (784, 128)    b1 (1, 128)
    W2 (128, 10)     b2 (1, 10)
    probs (N, 10)    each row sums to 1

Randomness: draw the initial weights from NumPy's global random generator
(``np.random.randn``), so that ``np.random.seed(s)`` before construction makes
the network reproducible. The grader seeds it that way.
"""

from __future__ import annotations

import numpy as np


class NeuralNetwork:
    """Two-layer fully connected network with a ReLU hidden layer and softmax output.

    Parameters
    ----------
    input_size : int, default 784
        Number of input features (28 * 28 pixels).
    hidden_size : int, default 128
        Number of hidden units.
    output_size : int, default 10
        Number of classes.
    lr : float, default 0.01
        Learning rate of the SGD update done in `backward`.

    Attributes
    ----------
    W1 : ndarray of shape (input_size, hidden_size)
        First-layer weights, He-initialised: standard normal values times
        ``sqrt(2 / input_size)``.
    b1 : ndarray of shape (1, hidden_size)
        First-layer biases, initialised to zeros.
    W2 : ndarray of shape (hidden_size, output_size)
        Second-layer weights, He-initialised: standard normal values times
        ``sqrt(2 / hidden_size)``.
    b2 : ndarray of shape (1, output_size)
        Second-layer biases, initialised to zeros.
    lr : float
        Learning rate.
    """

    def __init__(
        self,
        input_size: int = 784,
        hidden_size: int = 128,
        output_size: int = 10,
        lr: float = 0.01,
    ) -> None:
        """Store the sizes and learning rate and initialise the parameters.

        Use He initialisation for the weights (``np.random.randn`` times
        ``sqrt(2 / fan_in)``, where ``fan_in`` is the number of inputs of the
        layer) and zeros for the biases. All parameters are float64 arrays.

        Parameters
        ----------
        input_size : int, default 784
            Number of input features.
        hidden_size : int, default 128
            Number of hidden units.
        output_size : int, default 10
            Number of classes.
        lr : float, default 0.01
            Learning rate.
        """
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        ### BEGIN SOLUTION
        self.W1 = np.random.randn(input_size, hidden_size) * np.sqrt(2.0 / input_size)
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = np.random.randn(hidden_size, output_size) * np.sqrt(2.0 / hidden_size)
        self.b2 = np.zeros((1, output_size))
        ### END SOLUTION

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Compute the class probabilities for a batch.

        ``z1 = X W1 + b1``, ``a1 = relu(z1)``, ``z2 = a1 W2 + b2`` and
        ``probs = softmax(z2)`` row by row. Compute the softmax stably, by
        subtracting each row's maximum before exponentiating. Keep on ``self``
        whatever `backward` needs (e.g. ``self.z1`` and ``self.a1``).

        Parameters
        ----------
        X : ndarray of shape (N, input_size)
            Input batch, float pixel values in [0, 1].

        Returns
        -------
        probs : ndarray of shape (N, output_size)
            Class probabilities; each row is non-negative and sums to 1.
        """
        ### BEGIN SOLUTION
        self.z1 = X @ self.W1 + self.b1
        self.a1 = np.maximum(self.z1, 0.0)
        self.z2 = self.a1 @ self.W2 + self.b2
        shifted = self.z2 - self.z2.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        return probs
        ### END SOLUTION

    def backward(self, X: np.ndarray, y: np.ndarray, probs: np.ndarray) -> float:
        """Compute the loss and gradients, then take one SGD step.

        The loss is the cross-entropy averaged over the batch,
        ``-mean(log(probs[i, y[i]]))``. Its gradients with respect to ``W1``,
        ``b1``, ``W2`` and ``b2`` are computed with the values cached by the
        preceding `forward` call on the same ``X``; then every parameter ``p``
        is replaced by ``p - lr * dp``. Do not modify ``probs`` in place.

        Parameters
        ----------
        X : ndarray of shape (N, input_size)
            The batch given to the preceding `forward` call.
        y : ndarray of shape (N,)
            Integer class labels in ``0 .. output_size - 1``.
        probs : ndarray of shape (N, output_size)
            The probabilities returned by that `forward` call.

        Returns
        -------
        loss : float
            Mean cross-entropy of the batch, computed before the update.
        """
        ### BEGIN SOLUTION
        n = X.shape[0]
        rows = np.arange(n)
        labels = np.asarray(y, dtype=np.intp)
        picked = np.maximum(probs[rows, labels], np.finfo(np.float64).tiny)
        loss = float(-np.mean(np.log(picked)))

        dz2 = probs.copy()
        dz2[rows, labels] -= 1.0
        dz2 /= n
        dW2 = self.a1.T @ dz2
        db2 = dz2.sum(axis=0, keepdims=True)
        dz1 = (dz2 @ self.W2.T) * (self.z1 > 0)
        dW1 = X.T @ dz1
        db1 = dz1.sum(axis=0, keepdims=True)

        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        return loss
        ### END SOLUTION

    def train_step(self, X: np.ndarray, y: np.ndarray) -> float:
        """Run `forward` then `backward` on one batch.

        Parameters
        ----------
        X : ndarray of shape (N, input_size)
            Input batch, float pixel values in [0, 1].
        y : ndarray of shape (N,)
            Integer class labels.

        Returns
        -------
        loss : float
            Mean cross-entropy of the batch before the update.
        """
        ### BEGIN SOLUTION
        probs = self.forward(X)
        return self.backward(X, y, probs)
        ### END SOLUTION

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict the most probable class of each input.

        Parameters
        ----------
        X : ndarray of shape (N, input_size)
            Input batch, float pixel values in [0, 1].

        Returns
        -------
        labels : ndarray of shape (N,)
            Integer class labels, the argmax of each row of the probabilities.
        """
        ### BEGIN SOLUTION
        return np.argmax(self.forward(X), axis=1)
        ### END SOLUTION
