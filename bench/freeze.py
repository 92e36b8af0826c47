"""Benchmark: `tfmodel freeze` against TensorFlow's own `freeze_graph`.

Both run as whole processes on the same model; we report wall time and peak
resident memory (GNU time's %e and %M) and their ratios (ours / TensorFlow's).
Models: the conv-net fixture, and a checkpoint of about 100 MB of float32
weights generated here at bench time (never committed). On that checkpoint and
on one of 1 GB, the conversion's time is set against `cp` of its bytes and its
peak RSS against a bound that does not grow with the model.

Usage: python bench/freeze.py [--runs N]   (run by `npm run bench`)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
CLI = os.path.join(ROOT, "bin", "tfmodel.js")


def make_big_checkpoint(directory, megabytes=100, tensors=25):
    """A graph summing 25 float32 variables of ~4 MB each, saved with a .meta."""
    prefix = os.path.join(directory, "model.ckpt")
    if os.path.exists(prefix + ".index"):
        return prefix
    os.makedirs(directory, exist_ok=True)
    import numpy as np
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    elements = megabytes * 1024 * 1024 // 4 // tensors
    side = int(elements**0.5)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, side], name="x")
        total = x
        for i in range(tensors):
            w = tf.compat.v1.get_variable(f"layer{i}/w", [side, side], use_resource=False)
            total = tf.matmul(total, w) * 1e-3
        tf.identity(total, name="y")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            rng = np.random.default_rng(0)
            for v in tf.compat.v1.global_variables():
                v.load(rng.standard_normal(v.shape.as_list()).astype(np.float32), session)
            saver.save(session, prefix)
    return prefix


def measure(command):
    """Wall seconds and peak RSS (MiB) of one whole process."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    seconds, kilobytes = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kilobytes) / 1024


def bench(name, prefix, outputs, runs):
    ours_out = os.path.join(OUT, f"{name}.tfmodel.pb")
    theirs_out = os.path.join(OUT, f"{name}.tensorflow.pb")
    ours = [
        "node", CLI, "freeze", "--input_meta_graph", prefix + ".meta", "--input_checkpoint", prefix,
        "--output_graph", ours_out, "--output_node_names", outputs,
    ]
    theirs = [
        sys.executable, "-m", "tensorflow.python.tools.freeze_graph", "--input_meta_graph", prefix + ".meta",
        "--input_checkpoint", prefix, "--input_binary=true", "--output_graph", theirs_out,
        "--output_node_names", outputs,
    ]
    rows = {}
    for label, command in (("tfmodel", ours), ("tensorflow", theirs)):
        samples = [measure(command) for _ in range(runs)]
        rows[label] = {
            "seconds": statistics.median(s for s, _ in samples),
            "peak_rss_mib": max(m for _, m in samples),
            "output_bytes": os.path.getsize(ours_out if label == "tfmodel" else theirs_out),
        }
    weights = sum(os.path.getsize(os.path.join(os.path.dirname(prefix), f))
                  for f in os.listdir(os.path.dirname(prefix)) if ".data-" in f and f.startswith(os.path.basename(prefix)))
    return {
        "model": name,
        "weights_mib": weights / 2**20,
        **{f"{k}_{m}": v for k, row in rows.items() for m, v in row.items()},
        "time_ratio": rows["tfmodel"]["seconds"] / rows["tensorflow"]["seconds"],
        "rss_ratio": rows["tfmodel"]["peak_rss_mib"] / rows["tensorflow"]["peak_rss_mib"],
    }


def against_copying(prefix, outputs, runs, tools=("freeze", "convert")):
    """Issue-15 targets on one checkpoint, run side by side: `tfmodel freeze`,
    `tfmodel convert --quantize uint8` and a float `tfmodel convert` (the
    `tools` asked for) against copying the checkpoint's bytes with `cp` plus
    Node's start-up (time), and against Node's baseline + 1.2x the largest
    tensor + 64 MiB (peak RSS)."""
    import shutil

    import numpy as np
    import tensorflow as tf

    data = [os.path.join(os.path.dirname(prefix), f) for f in os.listdir(os.path.dirname(prefix))
            if f.startswith(os.path.basename(prefix) + ".data-")]
    # Sizes from the index alone, without reading the values (which would also warm the page cache for cp).
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    largest = max(int(np.prod(shape)) * dtypes[name].size for name, shape in reader.get_variable_to_shape_map().items()) / 2**20
    copy = os.path.join(OUT, "copy")
    os.makedirs(copy, exist_ok=True)
    commands = {
        "cp": ["cp", *data, copy],
        "node": ["node", "-e", "0"],
        "freeze": ["node", CLI, "freeze", "--input_checkpoint", prefix, "--output_graph", os.path.join(OUT, "against-cp.pb"),
                   "--output_node_names", outputs],
        "convert": ["node", CLI, "convert", prefix, os.path.join(OUT, "against-cp"), "--quantize", "uint8",
                    "--output_node_names", outputs],
        "convert-float": ["node", CLI, "convert", prefix, os.path.join(OUT, "against-cp-float"),
                          "--output_node_names", outputs],
    }
    commands = {name: command for name, command in commands.items() if name in ("cp", "node", *tools)}
    samples = {name: [] for name in commands}
    for name in ("against-cp", "against-cp-float"):
        shutil.rmtree(os.path.join(OUT, name), ignore_errors=True)
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(measure(command))
    shutil.rmtree(copy)
    median = {name: statistics.median(s for s, _ in runs_) for name, runs_ in samples.items()}
    rss = {name: max(m for _, m in runs_) for name, runs_ in samples.items()}
    baseline = median["cp"] + median["node"]
    bound = rss["node"] + 1.2 * largest + 64
    print(f"against cp + Node's start-up ({baseline:.2f} s) and the memory bound ({bound:.0f} MiB: Node's "
          f"{rss['node']:.0f} + 1.2 x {largest:.1f} MiB + 64):")
    for name in tools:
        print(f"  {name:<13} {median[name]:.2f} s ({median[name] / baseline:.2f}x, target 2)  "
              f"peak {rss[name]:.0f} MiB ({rss[name] / bound:.2f} of the bound)")
    return {"baseline_seconds": baseline, "memory_bound_mib": bound, "median_seconds": median, "peak_rss_mib": rss}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    big = make_big_checkpoint(os.path.join(OUT, "big"))
    results = [
        bench("convnet", os.path.join(ROOT, "fixtures", "convnet", "model.ckpt"), "probs,logits", args.runs),
        bench("big-100MB", big, "y", args.runs),
    ]
    print(f"{'model':<12}{'weights':>9}{'tfmodel s':>11}{'TF s':>8}{'ratio':>7}{'tfmodel MiB':>13}{'TF MiB':>8}{'ratio':>7}")
    for r in results:
        print(
            f"{r['model']:<12}{r['weights_mib']:>8.1f}M{r['tfmodel_seconds']:>11.2f}{r['tensorflow_seconds']:>8.2f}"
            f"{r['time_ratio']:>7.2f}{r['tfmodel_peak_rss_mib']:>13.0f}{r['tensorflow_peak_rss_mib']:>8.0f}{r['rss_ratio']:>7.2f}"
        )
    print("100 MB checkpoint (25 tensors of 4 MiB)", end=", ")
    copying = against_copying(big, "y", args.runs)
    # 1 GB (64 tensors of 16 MiB): the same memory bound, so memory stays flat as the model grows.
    huge = make_big_checkpoint(os.path.join(OUT, "big-1GB"), megabytes=1024, tensors=64)
    print("1 GB checkpoint (64 tensors of 16 MiB)", end=", ")
    copying_1gb = against_copying(huge, "y", 1, tools=("convert-float",))
    with open(os.path.join(OUT, "freeze.json"), "w") as f:
        json.dump({"freeze": results, "against_copying": copying, "against_copying_1gb": copying_1gb}, f, indent=2)


if __name__ == "__main__":
    main()
