"""Records how many nodes tensorflowjs_converter's graph model has for each
fixture's frozen graph (TensorFlow's own freeze), into
test/tfjs-converter-nodes.json. test/tfjs.test.ts checks that our TF.js
graph of the same fixture has no more; it reads the file, so the tests need
no Python.

Run with the Python of a separate venv holding tensorflowjs 4.22 (recipe in
the project docs: peers), from the repository root:

    VENV/bin/python scripts/record-tfjs-converter-nodes.py
"""

import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "tfjs-converter-nodes.json"
CONVERTER = Path(sys.executable).parent / "tensorflowjs_converter"


def version():
    from importlib.metadata import version as of

    return of("tensorflowjs"), of("tensorflow-cpu")


# Activations TF.js 4.22's fused kernels implement (cpu and wasm); the
# converter also fuses others (Tanh), which TF.js then fails to run.
RUNNABLE = {"biasadd", "relu", "relu6", "elu", "sigmoid", "leakyrelu", "prelu"}


def unrunnable(nodes):
    """Fused nodes whose fused_ops name an activation TF.js cannot run."""
    def ops(node):
        encoded = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
        return {base64.b64decode(s).decode().lower() for s in encoded}

    return sum(1 for node in nodes if ops(node) - RUNNABLE)


def count(frozen, outputs):
    """Nodes of modelTopology (top level and library functions), and how
    many of them are fusions TF.js cannot run."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "tensorflowjs_converter",
            "--input_format=tf_frozen_model",
            f"--output_node_names={','.join(outputs)}",
            str(frozen.relative_to(ROOT)),
            "OUT",
        ]
        subprocess.run([str(CONVERTER), *command[1:-1], out], check=True, cwd=ROOT, capture_output=True)
        topology = json.loads((Path(out) / "model.json").read_text())["modelTopology"]
        functions = topology.get("library", {}).get("function", [])
        nodes = topology["node"] + [n for f in functions for n in f.get("nodeDef", [])]
        return len(nodes), unrunnable(nodes), " ".join(command)


def main():
    manifest = json.loads((ROOT / "fixtures" / "manifest.json").read_text())
    tfjs, tf = version()
    counts = {}
    for name, spec in manifest["fixtures"].items():
        if not spec.get("frozen") or not spec.get("output_node_names"):
            continue
        nodes, broken, command = count(ROOT / "fixtures" / name / spec["frozen"], spec["output_node_names"])
        counts[name] = {"nodes": nodes, "unrunnable_fusions": broken, "command": command}
        print(f"{name}: {nodes} nodes, {broken} fused with an activation TF.js cannot run")
    record = {
        "about": "Nodes in tensorflowjs_converter's graph model of each fixture's frozen graph, "
        "written by scripts/record-tfjs-converter-nodes.py. unrunnable_fusions: its fused nodes whose "
        "activation (Tanh) TF.js 4.22's kernels do not implement, so that model fails to run; each "
        "saved it one node we keep.",
        "tensorflowjs": tfjs,
        "tensorflow": tf,
        "fixtures": counts,
    }
    OUT.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
