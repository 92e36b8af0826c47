"""Builds the models bench/tflite.js runs, each from TensorFlow's own frozen
graph: our `.tflite` (`tfmodel convert --format tflite`) and TFLite's
converter's, in float32, dynamic-range int8 and float16, plus
tensorflowjs_converter's TF.js graph model when it is installed.

Models: the classifier fixture, the detector fixture's raw heads (TFLite has
no builtin for its NMS; the Object Detection API cuts there too), and a Keras
MobileNetV2 with random weights built here (not committed). Writes
bench/out/tflite/<model>/... and models.json.

Usage: PYTHON bench/tflite_models.py   (a Python with TensorFlow 2.21;
tensorflowjs_converter is looked for beside it: scripts/setup-peers.sh)
"""

import json
import os
import shutil
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_models import mobilenet_v2  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out", "tflite")
CLI = os.path.join(ROOT, "bin", "tfmodel.js")
TFJS_CONVERTER = os.path.join(os.path.dirname(sys.executable), "tensorflowjs_converter")

FIXTURES = {
    "classifier": dict(frozen="fixtures/convnet/frozen_tf.pb", input="input", shape=[1, 24, 24, 3], outputs=["probs", "logits"]),
    "detector_heads": dict(
        frozen="fixtures/detector/frozen_tf.pb",
        input="image_tensor",
        shape=[1, 64, 64, 3],
        outputs=["box_encodings", "class_predictions"],
    ),
}

# Our --quantize value for each mode (None: float32), and TFLite's converter settings for it.
MODES = {"float32": None, "int8": "int8", "float16": "float16"}


def tensorflow_tflite(spec, mode, path):
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        spec["frozen"], [spec["input"]], spec["outputs"], {spec["input"]: spec["shape"]}
    )
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    with open(path, "wb") as f:
        f.write(converter.convert())


def our_tflite(spec, mode, path):
    out = path + ".dir"
    shutil.rmtree(out, ignore_errors=True)
    command = ["node", CLI, "convert", spec["frozen"], out, "--format", "tflite",
               "--output_node_names", ",".join(spec["outputs"])]
    if MODES[mode]:
        command += ["--quantize", MODES[mode]]
    subprocess.run(command, check=True, capture_output=True)
    os.replace(os.path.join(out, "model.tflite"), path)
    shutil.rmtree(out)


def main():
    models = {name: dict(spec, frozen=os.path.join(ROOT, spec["frozen"])) for name, spec in FIXTURES.items()}
    os.makedirs(os.path.join(OUT, "mobilenet_v2"), exist_ok=True)
    frozen = os.path.join(OUT, "mobilenet_v2", "frozen.pb")
    outputs = mobilenet_v2(frozen)
    graph = tf.compat.v1.GraphDef()
    with open(frozen, "rb") as f:
        graph.ParseFromString(f.read())
    placeholder = next(n.name for n in graph.node if n.op == "Placeholder")
    models["mobilenet_v2"] = dict(frozen=frozen, input=placeholder, shape=[1, 224, 224, 3], outputs=outputs)
    has_tfjs = os.path.exists(TFJS_CONVERTER)
    for name, spec in models.items():
        dir = os.path.join(OUT, name)
        os.makedirs(dir, exist_ok=True)
        spec["tflite"] = {}
        for mode in MODES:
            ours, theirs = (os.path.join(dir, f"{side}-{mode}.tflite") for side in ("ours", "theirs"))
            our_tflite(spec, mode, ours)
            tensorflow_tflite(spec, mode, theirs)
            spec["tflite"][mode] = dict(ours=ours, theirs=theirs)
        spec["tfjs_theirs"] = None
        if has_tfjs:
            tfjs = os.path.join(dir, "tfjs-theirs")
            shutil.rmtree(tfjs, ignore_errors=True)
            subprocess.run([TFJS_CONVERTER, "--input_format=tf_frozen_model",
                            f"--output_node_names={','.join(spec['outputs'])}", spec["frozen"], tfjs],
                           check=True, capture_output=True)
            spec["tfjs_theirs"] = tfjs
        print(f"{name}: converted")
    if not has_tfjs:
        print("tensorflowjs_converter not found beside this Python: TF.js column skipped (scripts/setup-peers.sh)")
    with open(os.path.join(OUT, "models.json"), "w") as f:
        json.dump(models, f, indent=2)


if __name__ == "__main__":
    main()
