// What the inference benchmarks (tfjs.js, tflite.js) share: the run counts,
// TF.js's WASM backend on one thread, a TF.js graph model read from disk,
// and the median.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as tfconv from '@tensorflow/tfjs-converter'
import * as tf from '@tensorflow/tfjs-core'

export const out = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bench', 'out')
export const WARMUP = 20
export const RUNS = 30

setWasmPaths(`${join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`)
setThreadsCount(1)

/** The graph model in `dir` (model.json and its shards), with its node count and whether it needs executeAsync. */
export async function loadGraph(dir) {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
  const group = json.weightsManifest[0]
  const data = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))))
  const model = await tfconv.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: group.weights,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  )
  const dynamic = json.modelTopology.node.some((n) => /NonMaxSuppression|Where|Switch|Merge|Enter/.test(n.op))
  return { model: Object.assign(model, { dynamic }), nodes: json.modelTopology.node.length }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
