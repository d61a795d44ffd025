"""An MLPClassifier fitted on a memory-mapped array larger than the process's memory limit.

The data (default 25M rows x 40 float32 features, 3.7 GiB) are written to an
``.npy`` file chunk by chunk, labelled by a fixed random teacher
(``sign(tanh(X W + b) v)``); 200k held-out rows come from the same teacher.
Every contender runs in a fresh subprocess and makes the same ``partial_fit``
calls: the same ``--chunk-rows`` row chunks in file order, ``--epochs``
times, with the same seed, so all of them must end with the same weights.

- ``in memory``: ``np.load`` reads the whole file into RAM; no limit. The reference.
- ``memmap windows, RLIMIT_AS``: each chunk is a ``np.memmap`` of its rows only,
  dropped after its ``partial_fit``.
- ``np.load(mmap_mode="r"), RLIMIT_DATA``: the usual whole-file memory map, sliced.
- ``dask Incremental, RLIMIT_AS``: ``dask_ml.wrappers.Incremental(shuffle_blocks=False)``
  on a dask array of the same windows, one block per chunk, on an in-process
  ``distributed.LocalCluster`` (1 worker, 1 thread).

The limits. Each limited child imports everything (and starts its cluster)
first, reads its footprint from ``/proc/self/status`` and sets the limit to
that baseline plus ``--headroom-mb``, less than the data. To show that the
limit binds, the child then tries to allocate an array of the data's size,
which must fail, before it fits.

- ``RLIMIT_AS`` caps the whole virtual address space (``VmSize``: code,
  libraries, heap, and every mapping). It is the strict one, and torch's CPU
  build is small enough for it (about 1 GiB after the imports), but a file
  mapping counts in full, so under it the file can only be mapped a window at
  a time.
- ``RLIMIT_DATA`` caps private writable memory (``VmData``: the heap and
  anonymous mappings, where any copy of the data would have to go) but not a
  read-only file mapping, so it admits ``np.load(mmap_mode="r")`` on the
  whole file and still forbids loading it.
- ``RLIMIT_RSS`` would be the natural one, but Linux ignores it.

Peak RSS is ``ru_maxrss``, of children started by a parent that stays small
(the data are written by a child too): a child started by ``fork``/``vfork``
and ``exec`` inherits its parent's peak as its own. The file pages of a mapping that have been read
count in RSS while they stay mapped: the whole-file memory map's peak RSS
grows towards the file's size even though those pages are page cache, which
the kernel can drop and re-read, not memory the process owns (RLIMIT_DATA
shows the process never owns a copy). The windows unmap each chunk's pages
after its ``partial_fit``. Before each contender the file's pages are dropped
from the page cache (``posix_fadvise(DONTNEED)``), so every contender reads
the file from disk. Fits use ``n_threads=1`` (one torch thread), the fastest
setting on a shared 2-core machine.

    python benchmarks/bench_out_of_core.py [--rows 25000000] [--features 40]
        [--chunk-rows 1000000] [--epochs 1] [--headroom-mb 1024] [--dir /tmp] [--no-dask]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

CONTENDERS = ["in memory", "memmap windows, RLIMIT_AS", 'np.load(mmap_mode="r"), RLIMIT_DATA',
              "dask Incremental, RLIMIT_AS"]
TEST_ROWS = 200_000
HIDDEN = 32  # the teacher's hidden units


# ----------------------------------------------------------------- the data
def teacher(n_features, seed=0):
    """The fixed random two-layer teacher ``X -> {0, 1}``."""
    rng = np.random.default_rng(seed)
    W = (rng.standard_normal((n_features, HIDDEN)) / np.sqrt(n_features)).astype(np.float32)
    b = rng.standard_normal(HIDDEN).astype(np.float32)
    v = rng.standard_normal(HIDDEN).astype(np.float32)
    return lambda X: (np.tanh(X @ W + b) @ v > 0).astype(np.int8)


def write_data(directory, n_rows, n_features, chunk_rows, seed=0):
    """Write ``X.npy``, ``y.npy`` and the held-out rows chunk by chunk, never all in memory."""
    label = teacher(n_features)
    X = np.lib.format.open_memmap(os.path.join(directory, "X.npy"), mode="w+",
                                  dtype=np.float32, shape=(n_rows, n_features))
    y = np.lib.format.open_memmap(os.path.join(directory, "y.npy"), mode="w+",
                                  dtype=np.int8, shape=(n_rows,))
    for i, start in enumerate(range(0, n_rows, chunk_rows)):
        stop = min(start + chunk_rows, n_rows)
        rng = np.random.default_rng([seed, i])
        X[start:stop] = rng.standard_normal((stop - start, n_features), dtype=np.float32)
        y[start:stop] = label(X[start:stop])
        X.flush()  # written back chunk by chunk, not all at the end
    y.flush()
    del X, y
    rng = np.random.default_rng([seed + 1])
    X_test = rng.standard_normal((TEST_ROWS, n_features), dtype=np.float32)
    np.save(os.path.join(directory, "X_test.npy"), X_test)
    np.save(os.path.join(directory, "y_test.npy"), label(X_test))


def drop_from_page_cache(path):
    """Evict ``path``'s pages from the page cache, so the next reader reads the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def npy_layout(path):
    """``(shape, dtype, offset)`` of the ``.npy`` file ``path``, from its header alone."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(f)
        return shape, dtype, f.tell()


def window(path, start, stop):
    """Rows ``[start, stop)`` of the ``.npy`` file ``path``, mapping only those rows."""
    shape, dtype, offset = npy_layout(path)
    row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    return np.memmap(path, dtype=dtype, mode="r", offset=offset + start * row_bytes,
                     shape=(stop - start, *shape[1:]))


# ---------------------------------------------------------------- the child
def status_bytes(key):
    """A ``/proc/self/status`` entry (``VmSize``, ``VmData``, ``VmRSS``) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(cfg):
    """One contender's fit, in this fresh process; prints its measurements as JSON."""
    import resource
    import warnings

    from skneural import MLPClassifier  # and torch: imported before the baseline, code is not data

    warnings.simplefilter("ignore")
    contender, directory = cfg["contender"], cfg["dir"]
    X_path, y_path = os.path.join(directory, "X.npy"), os.path.join(directory, "y.npy")
    (n_rows, n_features), _, _ = npy_layout(X_path)
    data_bytes = os.path.getsize(X_path) + os.path.getsize(y_path)
    bounds = [(start, min(start + cfg["chunk_rows"], n_rows))
              for start in range(0, n_rows, cfg["chunk_rows"])]
    est = MLPClassifier(hidden_layer_sizes=(64,), batch_size=cfg["batch_size"],
                        learning_rate_init=1e-3, n_threads=1, random_state=0)
    cluster = None
    if contender.startswith("dask"):
        import dask
        import dask.array as da
        from dask_ml.wrappers import Incremental
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                               dashboard_address=None)
        client = Client(cluster)
        # the worker starts its thread (a stack, a malloc arena) on its first task: before
        # the baseline, as the cluster itself
        client.submit(np.ones, 2**20, pure=False).result()

    limit = refused = None
    if "RLIMIT" in contender:
        kind = "AS" if contender.endswith("RLIMIT_AS") else "DATA"
        base = status_bytes("VmSize" if kind == "AS" else "VmData")
        limit = base + cfg["headroom_mb"] * 2**20
        rlimit = getattr(resource, f"RLIMIT_{kind}")
        resource.setrlimit(rlimit, (limit, resource.getrlimit(rlimit)[1]))
        try:  # the proof that the limit binds: no room for the data (np.empty touches no page)
            np.empty(n_rows * n_features, dtype=np.float32)
            refused = False
        except MemoryError:
            refused = True
    rss_before = status_bytes("VmRSS")

    load_s = None
    start_time = time.perf_counter()
    if contender == "in memory":
        X, y = np.load(X_path), np.load(y_path)
        load_s = time.perf_counter() - start_time
        start_time = time.perf_counter()
    elif contender.startswith("np.load"):
        X, y = np.load(X_path, mmap_mode="r"), np.load(y_path, mmap_mode="r")

    def chunk(a, b):
        if contender.startswith("memmap windows"):
            return window(X_path, a, b), window(y_path, a, b)
        return X[a:b], y[a:b]

    if cluster is None:
        for _ in range(cfg["epochs"]):
            for a, b in bounds:
                est.partial_fit(*chunk(a, b), classes=[0, 1])
    else:
        load = dask.delayed(window, pure=True)
        dX = da.concatenate([da.from_delayed(load(X_path, a, b), (b - a, n_features), np.float32)
                             for a, b in bounds])
        dy = da.concatenate([da.from_delayed(load(y_path, a, b), (b - a,), np.int8)
                             for a, b in bounds])
        inc = Incremental(est, shuffle_blocks=False).fit(dX, dy, classes=[0, 1])
        for _ in range(cfg["epochs"] - 1):
            inc.partial_fit(dX, dy, classes=[0, 1])
        est = inc.estimator_
        client.close()
        cluster.close()
    fit_s = time.perf_counter() - start_time

    X_test = np.load(os.path.join(directory, "X_test.npy"))
    y_test = np.load(os.path.join(directory, "y_test.npy"))
    np.savez(cfg["weights"], *est.coefs_, *est.intercepts_)
    print(json.dumps({
        "data_bytes": data_bytes, "limit": limit, "refused": refused, "rss_before": rss_before,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "load_s": load_s, "fit_s": fit_s, "rows_per_s": cfg["epochs"] * n_rows / fit_s,
        "accuracy": float(est.score(X_test, y_test)),
    }))


# --------------------------------------------------------------- the parent
def gib(n_bytes):
    return "none" if n_bytes is None else f"{n_bytes / 2**30:.2f}"


def yes_no(flag):
    return "" if flag is None else ("yes" if flag else "NO")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=25_000_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--headroom-mb", type=int, default=1024,
                        help="memory allowed above the footprint after the imports")
    parser.add_argument("--dir", default=tempfile.gettempdir(),
                        help="where the data are written (and removed afterwards)")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cfg = json.loads(args.child)
        return write_data(**cfg["write"]) if "write" in cfg else child(cfg)

    directory = tempfile.mkdtemp(prefix="bench_out_of_core_", dir=args.dir)
    try:
        start = time.perf_counter()
        # in a child too: the parent's peak RSS would be inherited by every child's ru_maxrss
        write = {"directory": directory, "n_rows": args.rows, "n_features": args.features,
                 "chunk_rows": args.chunk_rows}
        subprocess.run([sys.executable, __file__, "--child", json.dumps({"write": write})],
                       check=True)
        data_bytes = sum(os.path.getsize(os.path.join(directory, name))
                         for name in ("X.npy", "y.npy"))
        print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; data "
              f"{args.rows:,} x {args.features} float32 and int8 labels = {gib(data_bytes)} GiB, "
              f"written in {time.perf_counter() - start:.0f} s; chunks of {args.chunk_rows:,} "
              f"rows, {args.epochs} epoch(s), batch_size={args.batch_size}, headroom "
              f"{args.headroom_mb} MiB", flush=True)
        contenders = CONTENDERS[:-1] if args.no_dask else CONTENDERS
        results, weights = {}, {}
        for i, contender in enumerate(contenders):
            for name in ("X.npy", "y.npy"):
                drop_from_page_cache(os.path.join(directory, name))
            cfg = {"contender": contender, "dir": directory, "chunk_rows": args.chunk_rows,
                   "epochs": args.epochs, "batch_size": args.batch_size,
                   "headroom_mb": args.headroom_mb,
                   "weights": os.path.join(directory, f"weights{i}.npz")}
            run = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                results[contender] = {"error": (run.stderr.strip().splitlines() or ["?"])[-1]}
                print(f"  {contender}: FAILED: {results[contender]['error']}", flush=True)
                continue
            results[contender] = json.loads(run.stdout.strip().splitlines()[-1])
            with np.load(cfg["weights"]) as saved:
                weights[contender] = [saved[key] for key in saved.files]
            print(f"  {contender}: {results[contender]['fit_s']:.0f} s", flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    reference = weights.get(CONTENDERS[0])
    print("\n| contender | data GiB | limit GiB | array of the data's size refused | "
          "RSS before fit GiB | peak RSS GiB | load s | fit s | rows/s | held-out accuracy | "
          "same weights as in memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for contender, r in results.items():
        if "error" in r:
            print(f"| {contender} | failed: {r['error']} |||||||||")
            continue
        same = None if contender == CONTENDERS[0] else reference is not None and all(
            np.array_equal(a, b) for a, b in zip(weights[contender], reference))
        load_s = "" if r["load_s"] is None else f"{r['load_s']:.1f}"
        print(f"| {contender} | {gib(r['data_bytes'])} | {gib(r['limit'])} | "
              f"{yes_no(r['refused'])} | {gib(r['rss_before'])} | {gib(r['peak_rss'])} | "
              f"{load_s} | {r['fit_s']:.1f} | {r['rows_per_s'] / 1e6:.2f}M | "
              f"{r['accuracy']:.4f} | {yes_no(same)} |")

if __name__ == "__main__":
    main()
