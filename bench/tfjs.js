// TF.js inference, ours against tensorflowjs_converter's graph model of the
// same frozen graph (both built by bench/tfjs_models.py): batch 1, on
// tfjs-backend-wasm (one thread) and tfjs-backend-cpu in Node. Both models
// live in one process and run interleaved, because one process to the next
// varies far more than two models in one; 20 warm-up runs each, then 30
// timed runs each, or as many more (up to 300) as fill about two seconds,
// so that one hiccup cannot decide a sub-millisecond model's figures.
// Reports fastest and median, and ours ÷ theirs (below 1 is faster), with
// each graph's node count; writes bench/out/tfjs.json.
// It also profiles a few runs of theirs for the share of a run spent inside
// convolution kernels: both graphs run the same convolutions on the same
// shapes, so the share in theirs is about the lowest ratio any rewrite of the
// rest of the graph could reach (the `floor`).
import '@tensorflow/tfjs-backend-cpu'

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import * as tf from '@tensorflow/tfjs-core'

import { loadGraph as load, median, out, RUNS, WARMUP } from './inference.js'

function feed(model, shape) {
  const [input] = model.inputs
  const dtype = input.dtype === 'float32' ? 'float32' : 'int32'
  const values = tf.randomUniform(shape, 0, dtype === 'int32' ? 255 : 1, dtype === 'int32' ? 'int32' : 'float32', 1)
  return { [input.name]: values }
}

// execute() where the graph allows it (TF.js warns on every needless executeAsync).
async function once(model, inputs) {
  const start = performance.now()
  const result = model.dynamic ? await model.executeAsync(inputs) : model.execute(inputs)
  const tensors = Array.isArray(result) ? result : [result]
  await Promise.all(tensors.map((t) => t.data()))
  const elapsed = performance.now() - start
  tf.dispose(tensors)
  return elapsed
}

// Timed runs fill about this long, at least RUNS and at most MAX_RUNS.
const TIMED_MS = 2000
const MAX_RUNS = 300

const CONVOLUTIONS = /^(Fused)?(Conv2D|DepthwiseConv2D|DepthwiseConv2dNative)$/
const PROFILED = 5

// The median share of a run's time spent in convolution kernels, over a few profiled runs.
async function convolutionShare(model, inputs) {
  const shares = []
  for (let i = 0; i < PROFILED; i++) {
    const { kernels, result: elapsed } = await tf.profile(() => once(model, inputs))
    let sum = 0
    for (const kernel of kernels) if (CONVOLUTIONS.test(kernel.name)) sum += await kernel.kernelTimeMs
    shares.push(sum / elapsed)
  }
  return median(shares)
}

const models = JSON.parse(readFileSync(join(out, 'tfjs', 'models.json'), 'utf8'))
const results = []
for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend)
  for (const [name, spec] of Object.entries(models)) {
    const sides = { ours: await load(spec.ours), theirs: await load(spec.theirs) }
    const inputs = feed(sides.ours.model, spec.input)
    // Alternate which side runs first, so neither always follows the other.
    const order = (i) => (i % 2 ? ['ours', 'theirs'] : ['theirs', 'ours'])
    const warm = []
    for (let i = 0; i < WARMUP; i++) for (const side of order(i)) warm.push(await once(sides[side].model, inputs))
    const runs = Math.min(MAX_RUNS, Math.max(RUNS, Math.ceil(TIMED_MS / (2 * median(warm)))))
    const times = { ours: [], theirs: [] }
    for (let i = 0; i < runs; i++) for (const side of order(i)) times[side].push(await once(sides[side].model, inputs))
    const row = { backend, model: name, runs, floor: await convolutionShare(sides.theirs.model, inputs) }
    for (const side of ['ours', 'theirs']) {
      row[side] = { nodes: sides[side].nodes, fastest_ms: Math.min(...times[side]), median_ms: median(times[side]) }
      sides[side].model.dispose()
    }
    row.ratio_fastest = row.ours.fastest_ms / row.theirs.fastest_ms
    row.ratio_median = row.ours.median_ms / row.theirs.median_ms
    tf.dispose(Object.values(inputs))
    results.push(row)
    console.log(
      `${backend.padEnd(4)} ${name.padEnd(13)} nodes ${row.ours.nodes}/${row.theirs.nodes}  ` +
        `fastest ${row.ours.fastest_ms.toFixed(2)}/${row.theirs.fastest_ms.toFixed(2)} ms (${row.ratio_fastest.toFixed(2)}x)  ` +
        `median ${row.ours.median_ms.toFixed(2)}/${row.theirs.median_ms.toFixed(2)} ms (${row.ratio_median.toFixed(2)}x)  ` +
        `floor ${row.floor.toFixed(2)}x  (${runs} runs)`,
    )
  }
}
writeFileSync(join(out, 'tfjs.json'), `${JSON.stringify({ warmup: WARMUP, results }, null, 2)}\n`)
