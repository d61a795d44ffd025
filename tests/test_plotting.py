"""skneural.plotting draws what the fitted estimators hold."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from _estimators import FACTORIES, data, fit  # noqa: E402
from skneural.plotting import (  # noqa: E402
    plot_conditional_density,
    plot_gradient_norms,
    plot_learning_curve,
    plot_samples,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curve_draws_loss_and_validation_scores():
    X, y = data("MLPClassifier", n=80)
    clf = fit("MLPClassifier", X, y, max_iter=6, early_stopping=True, validation_fraction=0.25)
    ax = plot_learning_curve(clf)
    loss, val_loss = ax.get_lines()
    np.testing.assert_array_equal(loss.get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(loss.get_xdata(), np.arange(1, clf.n_iter_ + 1))
    np.testing.assert_array_equal(val_loss.get_ydata(), clf.validation_loss_curve_)
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    np.testing.assert_array_equal(twin.get_lines()[0].get_ydata(), clf.validation_scores_)
    # scoring="loss": the scores are the negative validation loss, so no second axis
    clf = fit("MLPClassifier", X, y, max_iter=6, early_stopping=True, scoring="loss")
    _, ax = plt.subplots()
    assert len(plot_learning_curve(clf, ax=ax).get_lines()) == 2 and len(ax.figure.axes) == 1


def test_learning_curve_of_a_gan_has_both_networks():
    X, _ = data("GANSampler")
    gan = fit("GANSampler", X, None)
    _, ax = plt.subplots()
    assert plot_learning_curve(gan, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["discriminator loss", "generator loss"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), gan.loss_curve_["generator"])


def test_gradient_norms_one_line_per_layer():
    X, y = data("MLPClassifier")
    clf = fit("MLPClassifier", X, y, hidden_layer_sizes=(5, 5), max_iter=4)
    ax = plot_gradient_norms(clf)
    lines = ax.get_lines()
    assert len(lines) == 3 and ax.get_yscale() == "log"
    np.testing.assert_allclose(lines[0].get_ydata(), np.asarray(clf.gradient_norms_)[:, 0])
    lbfgs = fit("MLPClassifier", X, y, solver="lbfgs")
    with pytest.raises(ValueError, match="lbfgs"):
        plot_gradient_norms(lbfgs)


def test_conditional_density_is_the_mdn_density_through_a_pipeline():
    X, y = data("MixtureDensityRegressor", n_features=1)
    pipe = make_pipeline(StandardScaler(), FACTORIES["MixtureDensityRegressor"](max_iter=5))
    pipe.fit(X * 10, y)
    x, t = np.linspace(-20, 20, 7), np.linspace(-3, 3, 5)
    ax = plot_conditional_density(pipe, x, t)
    image = ax.collections[0].get_array().reshape(t.size, x.size)
    mdn, features = pipe[-1], pipe[0].transform(x.reshape(-1, 1))
    expected = np.exp([[mdn.log_likelihood(features[[i]], [v])[0] for i in range(x.size)]
                       for v in t])
    np.testing.assert_allclose(image, expected, rtol=1e-6)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), mdn.predict_mode(features).ravel())
    X2, y2 = data("MixtureDensityRegressor", n_features=2)
    with pytest.raises(ValueError, match="one input feature"):
        plot_conditional_density(fit("MixtureDensityRegressor", X2, y2), x, t)


def test_samples_scatter_real_and_generated_columns():
    pd = pytest.importorskip("pandas")
    X, _ = data("GANSampler")
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    samples = fit("GANSampler", frame, None).sample(11, random_state=0)
    ax = plot_samples(frame, samples, features=("c2", "c0"))
    real, generated = ax.collections
    np.testing.assert_array_equal(real.get_offsets(), frame[["c2", "c0"]].to_numpy())
    np.testing.assert_array_equal(generated.get_offsets(), samples[["c2", "c0"]].to_numpy())
    with pytest.raises(ValueError, match="2-D"):
        plot_samples(X[:, 0], X)
