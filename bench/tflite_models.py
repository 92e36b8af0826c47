"""Builds the models bench/tflite.js runs, each from TensorFlow's own frozen
graph: our `.tflite` (`tfmodel convert --format tflite`) and TFLite's
converter's, in float32, dynamic-range int8, float16 and full-integer int8,
plus tensorflowjs_converter's TF.js graph model when it is installed.

Full int8 is calibrated on the same 100 samples on both sides (the
classifier's held-out images, seeded random images for the others: the
timing does not depend on what they show), and both are timed as whole
processes (`tfmodel convert --calibration`, and bench/tflite_convert.py with
the same .npy), TensorFlow's import included.

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
import time

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
MODES = {"float32": None, "int8": "int8", "float16": "float16", "int8-full": "int8-full"}
CALIBRATION_SAMPLES = 100


def calibration_samples(name, spec, path):
    """`CALIBRATION_SAMPLES` inputs for the model, saved as one .npy."""
    import numpy as np

    if name == "classifier":
        sys.path.insert(0, os.path.join(ROOT, "fixtures"))
        from tensorjson import tensor_from_json  # noqa: E402

        with open(os.path.join(ROOT, "fixtures", "convnet", "heldout.json")) as f:
            samples = tensor_from_json(json.load(f)["inputs"]["input"])[:CALIBRATION_SAMPLES].astype(np.float32)
    else:
        rng = np.random.default_rng(0)
        shape = [CALIBRATION_SAMPLES, *spec["shape"][1:]]
        samples = rng.integers(0, 256, shape, dtype=np.uint8) if name == "detector_heads" else rng.uniform(-1, 1, shape).astype(np.float32)
    np.save(path, samples)
    return path


def tensorflow_tflite(spec, mode, path):
    if mode == "int8-full":
        # Its own process, timed whole.
        shape = ",".join(str(d) for d in spec["shape"])
        command = [sys.executable, os.path.join(ROOT, "bench", "tflite_convert.py"), spec["frozen"], spec["input"],
                   ",".join(spec["outputs"]), shape, path, spec["calibration"]]
        return timed(command)
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        spec["frozen"], [spec["input"]], spec["outputs"], {spec["input"]: spec["shape"]}
    )
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    with open(path, "wb") as f:
        f.write(converter.convert())
    return None


def timed(command):
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def our_tflite(spec, mode, path):
    out = path + ".dir"
    shutil.rmtree(out, ignore_errors=True)
    command = ["node", CLI, "convert", spec["frozen"], out, "--format", "tflite",
               "--output_node_names", ",".join(spec["outputs"])]
    if MODES[mode]:
        command += ["--quantize", MODES[mode]]
    if mode == "int8-full":
        command += ["--calibration", spec["calibration"]]
    seconds = timed(command)
    os.replace(os.path.join(out, "model.tflite"), path)
    shutil.rmtree(out)
    return seconds


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
        spec["calibration"] = calibration_samples(name, spec, os.path.join(dir, "calibration.npy"))
        for mode in MODES:
            ours, theirs = (os.path.join(dir, f"{side}-{mode}.tflite") for side in ("ours", "theirs"))
            files = dict(ours=ours, theirs=theirs)
            seconds = dict(ours=our_tflite(spec, mode, ours), theirs=tensorflow_tflite(spec, mode, theirs))
            if mode == "int8-full":
                files["convert_seconds"] = seconds
                ratio = seconds["ours"] / seconds["theirs"]
                print(f"{name}: calibration + conversion on {CALIBRATION_SAMPLES} samples, whole process: "
                      f"ours {seconds['ours']:.2f} s, TFLiteConverter's {seconds['theirs']:.2f} s ({ratio:.3f}x)")
            spec["tflite"][mode] = files
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
