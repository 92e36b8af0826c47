"""Benchmark: a Keras 3 SavedModel (`model.export()`) to a TF.js graph model,
`tfmodel convert` against `tensorflowjs_converter --input_format=tf_saved_model`.

The model is a MobileNetV2 with random weights (weights=None), exported at
bench time into bench/out/savedmodel/ (never committed). Each conversion is
a whole process, timed with GNU time (wall seconds, peak RSS); median of
--runs. Needs the peers' Python (scripts/setup-peers.sh): TensorFlow 2.21 and
Keras 3 beside tensorflowjs_converter 4.22.

Usage: .cache/peers/bin/python bench/savedmodel.py [--runs N]   (run by `npm run bench`)
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from freeze import CLI, OUT, measure  # noqa: E402

CONVERTER = os.path.join(os.path.dirname(sys.executable), "tensorflowjs_converter")


def export_mobilenet(directory):
    """Keras 3's MobileNetV2, random weights, as `model.export()` writes it."""
    if os.path.exists(os.path.join(directory, "saved_model.pb")):
        return directory
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    shutil.rmtree(directory, ignore_errors=True)
    model.export(directory, verbose=False)
    return directory


def size_of(directory):
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved_model = export_mobilenet(os.path.join(OUT, "savedmodel", "mobilenet_v2"))
    sides = {
        "tfmodel": lambda out: ["node", CLI, "convert", saved_model, out],
        "tensorflowjs_converter": lambda out: [CONVERTER, "--input_format=tf_saved_model", saved_model, out],
    }
    results = {}
    for side, command in sides.items():
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "out")
                seconds, rss = measure(command(out))
                runs.append((seconds, rss, size_of(out)))
        results[side] = dict(
            seconds=statistics.median(r[0] for r in runs), peak_rss_mib=max(r[1] for r in runs), bytes=runs[0][2]
        )
    ours, theirs = results["tfmodel"], results["tensorflowjs_converter"]
    row = dict(model="mobilenet_v2 (Keras 3 export)", **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()})
    row["time_ratio"] = ours["seconds"] / theirs["seconds"]
    row["rss_ratio"] = ours["peak_rss_mib"] / theirs["peak_rss_mib"]
    print(f"{'model':<31}{'theirs s':>9}{'ours s':>8}{'ratio':>7}{'theirs MiB':>11}{'ours MiB':>9}{'ratio':>7}")
    print(
        f"{row['model']:<31}{theirs['seconds']:>9.2f}{ours['seconds']:>8.2f}{row['time_ratio']:>7.3f}"
        f"{theirs['peak_rss_mib']:>11.0f}{ours['peak_rss_mib']:>9.0f}{row['rss_ratio']:>7.2f}"
    )
    with open(os.path.join(OUT, "savedmodel.json"), "w") as f:
        json.dump(row, f, indent=2)


if __name__ == "__main__":
    main()
