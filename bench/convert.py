"""Benchmark: `tfmodel convert` against TensorFlow's own chain.

TensorFlow's route to a quantized inference model is three tools in turn:
freeze_graph, optimize_for_inference, then TFLite's converter with weight
quantization (dynamic-range int8). Each runs as a whole process; we add up
their wall times, take the largest peak RSS, and compare with one
`tfmodel convert` process, twice: to TF.js with `--quantize uint8`, and to the
same kind of file TensorFlow writes, `--format tflite --quantize int8`.
Beside the times: output sizes, and for the classifier the held-out accuracy
of each result (our TF.js run by TensorFlow from the equivalent `--format pb`
graph, whose weights decode to exactly what TF.js decodes; each .tflite by
TensorFlow's interpreter).

Usage: python bench/convert.py [--runs N]   (run by `npm run bench`)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from freeze import CLI, OUT, make_big_checkpoint, measure  # noqa: E402

MODELS = {
    "convnet": dict(inputs="input", outputs="probs,logits", shape="128,24,24,3", dtype=1),
    "detector": dict(
        inputs="image_tensor",
        outputs="detection_boxes,detection_scores,detection_classes,num_detections",
        # TFLite has no builtin for the NMS: both .tflite files end at the raw heads.
        tflite_outputs="box_encodings,class_predictions",
        shape="1,64,64,3",
        dtype=4,
    ),
}

# Our command for each output format; TensorFlow's chain is the same for both.
FORMATS = {"tfjs": ["--quantize", "uint8"], "tflite": ["--format", "tflite", "--quantize", "int8"]}


def outputs_for(spec, fmt):
    return spec.get("tflite_outputs", spec["outputs"]) if fmt == "tflite" else spec["outputs"]


def tensorflow_chain(prefix, spec, out, outputs):
    frozen, optimized, tflite = (os.path.join(out, name) for name in ("frozen.pb", "optimized.pb", "model.tflite"))
    steps = [
        [sys.executable, "-m", "tensorflow.python.tools.freeze_graph", "--input_meta_graph", prefix + ".meta",
         "--input_checkpoint", prefix, "--input_binary=true", "--output_graph", frozen, "--output_node_names", outputs],
        [sys.executable, "-m", "tensorflow.python.tools.optimize_for_inference", "--input", frozen, "--output", optimized,
         "--input_names", spec["inputs"], "--output_names", outputs, "--placeholder_type_enum", str(spec["dtype"])],
        [sys.executable, os.path.join(ROOT, "bench", "tflite_convert.py"), optimized, spec["inputs"], outputs,
         spec["shape"], tflite],
    ]
    results = [measure(step) for step in steps]
    return sum(s for s, _ in results), max(m for _, m in results), os.path.getsize(tflite), tflite


def ours(prefix, spec, out, fmt):
    seconds, rss = measure(["node", CLI, "convert", prefix, out, *FORMATS[fmt], "--output_node_names", outputs_for(spec, fmt)])
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    return seconds, rss, size


def heldout_accuracy_ours(prefix, spec):
    import numpy as np
    import tensorflow as tf
    from parity import load_json, to_numpy

    heldout = load_json(os.path.join(ROOT, "fixtures", "convnet"), "heldout.json")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["node", CLI, "convert", prefix, tmp, "--quantize", "uint8", "--format", "pb",
                        "--output_node_names", spec["outputs"]], check=True, capture_output=True)
        graph_def = tf.compat.v1.GraphDef()
        with open(os.path.join(tmp, "model.pb"), "rb") as f:
            graph_def.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        probs = session.run("probs:0", {"input:0": to_numpy(heldout["inputs"]["input"])})
    return float(np.mean(np.argmax(probs, 1) == to_numpy(heldout["labels"])))


def heldout_accuracy_tflite(tflite):
    import numpy as np
    import tensorflow as tf
    from parity import load_json, to_numpy

    heldout = load_json(os.path.join(ROOT, "fixtures", "convnet"), "heldout.json")
    images = to_numpy(heldout["inputs"]["input"])
    interpreter = tf.lite.Interpreter(model_path=tflite)
    # Ours keeps the batch dimension unknown; TensorFlow's was converted at this batch.
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], images)
    interpreter.invoke()
    probs = next(d for d in interpreter.get_output_details() if d["name"].startswith("probs"))
    return float(np.mean(np.argmax(interpreter.get_tensor(probs["index"]), 1) == to_numpy(heldout["labels"])))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.makedirs(OUT, exist_ok=True)
    models = {name: os.path.join(ROOT, "fixtures", name, "model.ckpt") for name in MODELS}
    models["big-100MB"] = make_big_checkpoint(os.path.join(OUT, "big"))
    specs = dict(MODELS, **{"big-100MB": dict(inputs="x", outputs="y", shape="1,1024", dtype=1)})
    rows = []
    for name, prefix in models.items():
        spec = specs[name]
        # TensorFlow's chain, once per set of outputs: its runs, and the
        # classifier's held-out accuracy on the first run's .tflite.
        chains = {}
        for fmt in FORMATS:
            outputs = outputs_for(spec, fmt)
            if outputs not in chains:
                runs, accuracy = [], None
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory() as tmp:
                        *measured, tflite = tensorflow_chain(prefix, spec, tmp, outputs)
                        if name == "convnet" and accuracy is None:
                            accuracy = heldout_accuracy_tflite(tflite)
                        runs.append(measured)
                chains[outputs] = runs, accuracy
            (tf_runs, tflite_accuracy), our_runs = chains[outputs], []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    our_runs.append(ours(prefix, spec, tmp, fmt))
            row = {
                "model": name,
                "format": fmt,
                "tensorflow_seconds": statistics.median(r[0] for r in tf_runs),
                "tensorflow_peak_rss_mib": max(r[1] for r in tf_runs),
                "tflite_bytes": tf_runs[0][2],
                "tfmodel_seconds": statistics.median(r[0] for r in our_runs),
                "tfmodel_peak_rss_mib": max(r[1] for r in our_runs),
                "tfmodel_bytes": our_runs[0][2],
            }
            row["time_ratio"] = row["tfmodel_seconds"] / row["tensorflow_seconds"]
            row["rss_ratio"] = row["tfmodel_peak_rss_mib"] / row["tensorflow_peak_rss_mib"]
            if name == "convnet":
                row["tflite_heldout_accuracy"] = tflite_accuracy
                if fmt == "tflite":
                    with tempfile.TemporaryDirectory() as tmp:
                        subprocess.run(["node", CLI, "convert", prefix, tmp, *FORMATS[fmt], "--output_node_names", outputs],
                                       check=True, capture_output=True)
                        row["tfmodel_heldout_accuracy"] = heldout_accuracy_tflite(os.path.join(tmp, "model.tflite"))
                else:
                    row["tfmodel_heldout_accuracy"] = heldout_accuracy_ours(prefix, spec)
            rows.append(row)
    print(f"{'model':<11}{'format':<8}{'TF chain s':>11}{'ours s':>8}{'ratio':>7}{'TF MiB':>8}{'ours MiB':>9}{'ratio':>7}"
          f"{'.tflite':>10}{'ours B':>10}{'acc TFLite':>11}{'acc ours':>9}")
    for r in rows:
        print(
            f"{r['model']:<11}{r['format']:<8}{r['tensorflow_seconds']:>11.2f}{r['tfmodel_seconds']:>8.2f}{r['time_ratio']:>7.2f}"
            f"{r['tensorflow_peak_rss_mib']:>8.0f}{r['tfmodel_peak_rss_mib']:>9.0f}{r['rss_ratio']:>7.2f}"
            f"{r['tflite_bytes']:>10}{r['tfmodel_bytes']:>10}"
            f"{r.get('tflite_heldout_accuracy', float('nan')):>11.3f}{r.get('tfmodel_heldout_accuracy', float('nan')):>9.3f}"
        )
    with open(os.path.join(OUT, "convert.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
