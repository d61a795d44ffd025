"""Training on data larger than memory: ``partial_fit`` over dask blocks and memmap chunks.

Out-of-core training is a ``partial_fit`` loop over row chunks, whoever runs
it: ``dask_ml.wrappers.Incremental`` on a cluster, or a plain loop over a
memory-mapped file. Each test compares it with the oracle, the same loop over
the same chunks of an in-memory array, which it must equal exactly.
"""

import gc
import pickle
import weakref

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score

import skneural._core.base as base
from skneural import MLPClassifier, MLPRegressor

CHUNK = 250  # rows per dask block and per memmap chunk
EPOCHS = 3
SETTINGS = dict(hidden_layer_sizes=(16,), batch_size=50, learning_rate_init=0.01, n_threads=1,
                random_state=0)
ESTIMATORS = {"MLPClassifier": MLPClassifier(**SETTINGS), "MLPRegressor": MLPRegressor(**SETTINGS)}


def make_data(name, n_samples=1500, seed=0):
    """A learnable float32 problem: a fixed nonlinear teacher of six features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 6)).astype(np.float32)
    score = np.tanh(X[:, 0] + X[:, 1]) + 0.5 * X[:, 2] - 0.3 * X[:, 3]
    y = (score > 0).astype(np.int64) if name == "MLPClassifier" else 3.0 * score + 1.0
    return X, y


def fit_kwargs(name):
    return {"classes": [0, 1]} if name == "MLPClassifier" else {}


def partial_fit_loop(est, X, y, order, epochs=1, between=None, **kwargs):
    """The oracle: ``partial_fit`` on chunks ``order`` of ``X, y``, ``epochs`` times."""
    for _ in range(epochs):
        for i in order:
            rows = slice(i * CHUNK, (i + 1) * CHUNK)
            est = est.partial_fit(X[rows], y[rows], **kwargs)
            if between is not None:
                est = between(est)
    return est


def assert_same_fit(got, expected):
    assert got.n_iter_ == expected.n_iter_ and got.t_ == expected.t_
    for a, b in zip(got.coefs_ + got.intercepts_, expected.coefs_ + expected.intercepts_):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.loss_curve_, expected.loss_curve_, rtol=0, atol=1e-10)


# -------------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    # in-process: a worker process would import torch again (seconds); what crossing
    # processes adds, pickling the estimator between blocks, is tested on its own below
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.mark.parametrize("name", ESTIMATORS)
def test_incremental_on_a_cluster_equals_a_partial_fit_loop(client, name):
    da = pytest.importorskip("dask.array")
    Incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    X, y = make_data(name)
    X_test, y_test = make_data(name, n_samples=600, seed=1)
    dX, dy = da.from_array(X, chunks=(CHUNK, X.shape[1])), da.from_array(y, chunks=CHUNK)
    n_blocks = dX.numblocks[0]

    # shuffle_blocks=False: the blocks in their order, as the oracle takes them
    inc = Incremental(clone(ESTIMATORS[name]), shuffle_blocks=False)
    inc.fit(dX, dy, **fit_kwargs(name))
    for _ in range(EPOCHS - 1):  # Incremental.fit passes once; partial_fit continues
        inc.partial_fit(dX, dy, **fit_kwargs(name))
    oracle = partial_fit_loop(clone(ESTIMATORS[name]), X, y, range(n_blocks), EPOCHS,
                              **fit_kwargs(name))
    assert_same_fit(inc.estimator_, oracle)

    pred = inc.predict(da.from_array(X_test, chunks=(200, X.shape[1])))
    assert isinstance(pred, da.Array)
    pred = pred.compute()
    np.testing.assert_array_equal(pred, oracle.predict(X_test))
    if name == "MLPClassifier":
        assert inc.score(da.from_array(X_test, chunks=200), y_test) > 0.9
    else:
        # dask-ml's own r2 scorer fails on dask >= 2025.2 (dask/dask-ml#1012): sklearn's
        assert r2_score(y_test, pred) > 0.8


def test_incremental_block_order_decides_the_fit(client):
    """The equality above is not vacuous: other block orders give other weights."""
    da = pytest.importorskip("dask.array")
    Incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    X, y = make_data("MLPClassifier")
    dX, dy = da.from_array(X, chunks=(CHUNK, X.shape[1])), da.from_array(y, chunks=CHUNK)
    shuffled = Incremental(clone(ESTIMATORS["MLPClassifier"]), shuffle_blocks=True,
                           random_state=0).fit(dX, dy, classes=[0, 1])
    in_order = partial_fit_loop(clone(ESTIMATORS["MLPClassifier"]), X, y,
                                range(dX.numblocks[0]), classes=[0, 1])
    assert not np.allclose(shuffled.estimator_.coefs_[0], in_order.coefs_[0])


@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickling_between_chunks_changes_nothing(name):
    """What a multi-process cluster does when consecutive blocks live on different workers."""
    X, y = make_data(name)
    order = range(len(X) // CHUNK)
    hopping = partial_fit_loop(clone(ESTIMATORS[name]), X, y, order, epochs=2,
                               between=lambda est: pickle.loads(pickle.dumps(est)),
                               **fit_kwargs(name))
    staying = partial_fit_loop(clone(ESTIMATORS[name]), X, y, order, epochs=2,
                               **fit_kwargs(name))
    assert_same_fit(hopping, staying)


def test_first_partial_fit_refuses_labels_outside_classes():
    """A chunk's labels are checked against ``classes`` on the first call, as on later ones.

    Before, a first chunk with a label outside ``classes`` trained silently on
    the wrong class (binary: the label became the negative class) or failed
    deep inside torch (multiclass).
    """
    X, _ = make_data("MLPClassifier", n_samples=90)
    with pytest.raises(ValueError, match=r"labels \['z'\] not in the classes passed"):
        clone(ESTIMATORS["MLPClassifier"]).partial_fit(X, np.repeat(["a", "b", "z"], 30),
                                                       classes=["a", "b"])
    with pytest.raises(ValueError, match=r"labels \[3\] not in the classes passed"):
        clone(ESTIMATORS["MLPClassifier"]).partial_fit(X, np.repeat([0, 1, 3], 30),
                                                       classes=[0, 1, 2])
    est = clone(ESTIMATORS["MLPClassifier"]).partial_fit(X, np.repeat([0, 1, 1], 30),
                                                          classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[2\] not seen in the first fit"):
        est.partial_fit(X, np.repeat([0, 1, 2], 30))
    # a first chunk missing some of the classes is fine: that is what classes= is for
    est = clone(ESTIMATORS["MLPClassifier"]).partial_fit(X, np.repeat([0, 2, 2], 30),
                                                          classes=[0, 1, 2])
    assert est.classes_.tolist() == [0, 1, 2] and est.predict_proba(X).shape == (90, 3)


# ------------------------------------------------------------------ memmap
def write_memmap(path, array, chunk=CHUNK):
    """Write ``array`` to an ``.npy`` file chunk by chunk, as data too large for memory is."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype, shape=array.shape)
    for start in range(0, len(array), chunk):
        out[start:start + chunk] = array[start:start + chunk]
    out.flush()
    del out


@pytest.mark.parametrize("name", ESTIMATORS)
def test_partial_fit_over_memmap_chunks_trains_on_the_file_without_copying(
        name, tmp_path, monkeypatch):
    X, y = make_data(name)
    write_memmap(tmp_path / "X.npy", X)
    X_disk = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert isinstance(X_disk, np.memmap) and not X_disk.flags.writeable

    # the address of the tensor each chunk trains on; ints only, so the spy keeps no data
    addresses, original = [], base.train_stochastic

    def spy(est, train, *args, **kwargs):
        addresses.append(train[0][0].data_ptr())
        return original(est, train, *args, **kwargs)

    monkeypatch.setattr(base, "train_stochastic", spy)
    order = range(len(X) // CHUNK)
    on_disk = partial_fit_loop(clone(ESTIMATORS[name]), X_disk, y, order, EPOCHS,
                               **fit_kwargs(name))
    chunk_bytes = CHUNK * X_disk.strides[0]
    # every chunk trains on the file's own pages: no copy of the chunk, let alone the file
    assert addresses == [X_disk.ctypes.data + i * chunk_bytes for i in order] * EPOCHS

    in_memory = partial_fit_loop(clone(ESTIMATORS[name]), np.array(X_disk), y, order, EPOCHS,
                                 **fit_kwargs(name))
    for a, b in zip(on_disk.coefs_ + on_disk.intercepts_,
                    in_memory.coefs_ + in_memory.intercepts_):
        np.testing.assert_array_equal(a, b)  # bitwise
    np.testing.assert_array_equal(on_disk.predict(X_disk), in_memory.predict(X))

    # the fitted estimator holds no reference to the file (nor to a chunk, a view of it)
    mapped = weakref.ref(X_disk)
    del X_disk
    gc.collect()
    assert mapped() is None
    assert pickle.loads(pickle.dumps(on_disk)).predict(X).shape == y.shape
