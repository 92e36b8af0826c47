"""Builds the models bench/tfjs.js runs: for each, our TF.js graph model and
tensorflowjs_converter's, both from TensorFlow's own frozen graph.

Models: the classifier and the detector fixtures (their frozen_tf.pb), and a
Keras MobileNetV2 with random weights (weights=None), frozen here with
TensorFlow's convert_variables_to_constants_v2. Needs a Python holding
TensorFlow 2.21 and tensorflowjs 4.22 (the peers recipe in the project docs);
writes bench/out/tfjs/<model>/{frozen.pb,ours,theirs} and models.json.

Usage: .cache/peers/bin/python bench/tfjs_models.py   (scripts/setup-peers.sh makes it)
"""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out", "tfjs")
CONVERTER = os.path.join(os.path.dirname(sys.executable), "tensorflowjs_converter")

FIXTURES = {
    "classifier": dict(frozen="fixtures/convnet/frozen_tf.pb", outputs=["probs", "logits"], input=[1, 24, 24, 3]),
    "detector": dict(
        frozen="fixtures/detector/frozen_tf.pb",
        outputs=["detection_boxes", "detection_scores", "detection_classes", "num_detections"],
        input=[1, 64, 64, 3],
    ),
}


def mobilenet_v2(path):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    tf.random.set_seed(0)
    model = tf.keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec([1, 224, 224, 3], tf.float32)
    )
    frozen = convert_variables_to_constants_v2(function)
    tf.io.write_graph(frozen.graph.as_graph_def(), os.path.dirname(path), os.path.basename(path), as_text=False)
    return [t.name.split(":")[0] for t in frozen.outputs]


def main():
    models = {}
    for name, spec in FIXTURES.items():
        models[name] = dict(frozen=os.path.join(ROOT, spec["frozen"]), outputs=spec["outputs"], input=spec["input"])
    os.makedirs(os.path.join(OUT, "mobilenet_v2"), exist_ok=True)
    frozen = os.path.join(OUT, "mobilenet_v2", "frozen.pb")
    models["mobilenet_v2"] = dict(frozen=frozen, outputs=mobilenet_v2(frozen), input=[1, 224, 224, 3])
    for name, spec in models.items():
        ours, theirs = (os.path.join(OUT, name, side) for side in ("ours", "theirs"))
        for side in (ours, theirs):
            shutil.rmtree(side, ignore_errors=True)
        outputs = ",".join(spec["outputs"])
        subprocess.run(
            [CONVERTER, "--input_format=tf_frozen_model", f"--output_node_names={outputs}", spec["frozen"], theirs],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["node", os.path.join(ROOT, "bin", "tfmodel.js"), "convert", spec["frozen"], ours,
             f"--output_node_names={outputs}"],
            check=True,
            capture_output=True,
        )
        spec.update(ours=ours, theirs=theirs)
        print(f"{name}: converted")
    with open(os.path.join(OUT, "models.json"), "w") as f:
        json.dump(models, f, indent=2)


if __name__ == "__main__":
    main()
