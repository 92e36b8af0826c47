// LiteRT.js in Node, for tests (its browser glue loads through the CLI's shim).
// Also what the LiteRT.js tests compare with: TensorFlow's detector heads.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

import { nodeLiteRtGlue } from '../src/node/run-model.js'
import { createModel } from '../dist/runtime/index.js'
import type { ModelDescriptor, Signature } from '../src/runtime/types.js'
import { fixture, type JsonTensor, root } from './fixtures.js'

nodeLiteRtGlue()

const wasmDir = join(root, 'node_modules', '@litertjs', 'core', 'wasm')
const build = (stem: string) => ({ js: pathToFileURL(join(wasmDir, `${stem}.js`)).href, wasm: pathToFileURL(join(wasmDir, `${stem}.wasm`)).href })

/** `fetch` for file: URLs (Node's own does not take them). */
export const fileFetch: typeof fetch = async (url) => new Response(readFileSync(fileURLToPath(String(url))))

/** A model import's object for a .tflite on disk, as a loader module would describe it. */
export function tfliteModel(path: string, signature: Signature) {
  const bytes = readFileSync(path).byteLength
  const descriptor: ModelDescriptor = {
    id: path,
    url: pathToFileURL(path).href,
    hash: '',
    format: 'tflite',
    signature,
    sizes: { modelJson: bytes, weights: 0, float32Weights: 0, total: bytes },
    files: [],
    executeAsync: false,
    quantization: null,
    litert: () => import('@litertjs/core'),
    litertWasm: { compat: build('litert_wasm_compat_internal'), relaxedSimd: build('litert_wasm_internal') },
  }
  return createModel(descriptor)
}

/** The worst |actual - expected| as a fraction of 1e-5 + 1e-4·|expected| (numpy's allclose at
 * parity.py's tolerances): at most 1 passes. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1e-5 + 1e-4 * Math.abs(expected[i]!)))
  return worst
}

/** TensorFlow running its own frozen detector graph (freeze_graph's) on the stored images. */
export function tensorflowHeads(heads: string[]): Record<string, JsonTensor>[] {
  const script = `
import base64, json, sys, numpy as np, tensorflow as tf
d = sys.argv[1]
graph = tf.compat.v1.GraphDef(); graph.ParseFromString(open(d + "/frozen_tf.pb", "rb").read())
g = tf.Graph()
with g.as_default(): tf.compat.v1.import_graph_def(graph, name="")
out = []
with tf.compat.v1.Session(graph=g) as s:
    for image in json.load(open(d + "/images.json")):
        x = np.frombuffer(base64.b64decode(image["input"]["data"]), dtype=np.uint8).reshape(image["input"]["shape"])
        values = s.run([h + ":0" for h in sys.argv[2:]], {"image_tensor:0": x})
        out.append({h: {"dtype": "float32", "shape": list(v.shape), "data": base64.b64encode(v.astype(np.float32).tobytes()).decode()} for h, v in zip(sys.argv[2:], values)})
print(json.dumps(out))
`
  const stdout = execFileSync(join(root, '.venv', 'bin', 'python'), ['-c', script, fixture('detector').dir, ...heads], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 28,
  })
  return JSON.parse(stdout.toString()) as Record<string, JsonTensor>[]
}

/** TensorFlow's own interpreter (`tf.lite.Interpreter`) running a .tflite on the detector's stored images. */
export function interpreterHeads(path: string, heads: string[]): Record<string, JsonTensor>[] {
  const script = `
import base64, json, sys, warnings, numpy as np, tensorflow as tf
warnings.simplefilter("ignore")
runner = tf.lite.Interpreter(model_path=sys.argv[2]).get_signature_runner("serving_default")
out = []
for image in json.load(open(sys.argv[1] + "/images.json")):
    x = np.frombuffer(base64.b64decode(image["input"]["data"]), dtype=np.uint8).reshape(image["input"]["shape"])
    values = runner(image_tensor=x)
    out.append({h: {"dtype": "float32", "shape": list(values[h].shape), "data": base64.b64encode(values[h].astype(np.float32).tobytes()).decode()} for h in sys.argv[3:]})
print(json.dumps(out))
`
  const stdout = execFileSync(join(root, '.venv', 'bin', 'python'), ['-c', script, fixture('detector').dir, path, ...heads], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 28,
  })
  return JSON.parse(stdout.toString()) as Record<string, JsonTensor>[]
}
