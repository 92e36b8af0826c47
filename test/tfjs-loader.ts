// Loads an emitted TF.js graph model from disk into TensorFlow.js on Node
// (tfjs-core + tfjs-converter + the cpu backend; tfjs-node would download a
// binary) and runs it on fixture inputs.
import '@tensorflow/tfjs-backend-cpu'

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

import * as tfconv from '@tensorflow/tfjs-converter'
import * as tf from '@tensorflow/tfjs-core'

import { dequantizeInt8, type WeightSpec } from '../src/runtime/dequantize.js'
import type { JsonTensor } from './fixtures.js'

export { tf }

export interface LoadedGraph {
  model: tfconv.GraphModel
  json: {
    weightsManifest: { paths: string[]; weights: WeightSpec[] }[]
    signature?: unknown
    modelTopology: unknown
    modelInitializer?: unknown
    initializerSignature?: unknown
  }
  /** Weights as TF.js decodes them (int8 decoded by our loader first). */
  weights: Record<string, tf.Tensor>
}

/** TF.js's kernels differ per backend (the WASM ones are separate C++), so
 * models run on both; WASM single-threaded, as in a page without isolation. */
export type Backend = 'cpu' | 'wasm'

let wasmReady: Promise<void> | undefined

async function useBackend(backend: Backend): Promise<void> {
  if (backend === 'wasm') {
    wasmReady ??= import('@tensorflow/tfjs-backend-wasm').then((wasm) => {
      const dist = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')
      wasm.setWasmPaths(`${dist}/`)
      wasm.setThreadsCount(1)
    })
    await wasmReady
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} did not start`)
}

export async function loadGraph(modelJsonPath: string, backend: Backend = 'cpu'): Promise<LoadedGraph> {
  await useBackend(backend)
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as LoadedGraph['json']
  const group = json.weightsManifest[0]!
  const shards = group.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p)))
  const data = Buffer.concat(shards)
  const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  const { specs, data: weightData } = dequantizeInt8(group.weights, bytes)
  const model = await tfconv.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as object,
      weightSpecs: specs as tf.io.WeightsManifestEntry[],
      weightData,
      format: 'graph-model',
      ...(json.modelInitializer !== undefined && { modelInitializer: json.modelInitializer as object }),
      ...(json.initializerSignature !== undefined && { initializerSignature: json.initializerSignature as object }),
    }),
  )
  const weights = tf.io.decodeWeights(weightData, specs as tf.io.WeightsManifestEntry[])
  return { model, json, weights }
}

export function toTensor(value: JsonTensor): tf.Tensor {
  if (value.dtype === 'string') {
    const items = (value.data as string[]).map((s) => new Uint8Array(Buffer.from(s, 'base64')))
    return tf.tensor(items, value.shape, 'string')
  }
  const bytes = Buffer.from(value.data as string, 'base64')
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  switch (value.dtype) {
    case 'float32':
      return tf.tensor(new Float32Array(buffer), value.shape, 'float32')
    case 'int32':
      return tf.tensor(new Int32Array(buffer), value.shape, 'int32')
    case 'uint8':
      return tf.tensor(Int32Array.from(new Uint8Array(buffer)), value.shape, 'int32')
    case 'int64':
      return tf.tensor(Int32Array.from(new BigInt64Array(buffer), (v) => Number(v)), value.shape, 'int32')
    case 'bool':
      return tf.tensor(new Uint8Array(buffer), value.shape, 'bool')
    default:
      throw new Error(`fixture input dtype ${value.dtype} is not handled`)
  }
}

export function floats(value: JsonTensor): Float32Array {
  const bytes = Buffer.from(value.data as string, 'base64')
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
}

/** Runs the model on named inputs; returns outputs by name. */
export async function run(model: tfconv.GraphModel, inputs: Record<string, JsonTensor>, outputs: string[]): Promise<Record<string, Float32Array | Int32Array>> {
  const feed: Record<string, tf.Tensor> = {}
  for (const [name, value] of Object.entries(inputs)) feed[name] = toTensor(value)
  const result = await model.executeAsync(feed, outputs)
  const tensors = Array.isArray(result) ? result : [result]
  const out: Record<string, Float32Array | Int32Array> = {}
  for (const [i, tensor] of tensors.entries()) {
    out[outputs[i]!] = (await tensor.data()) as Float32Array | Int32Array
    tensor.dispose()
  }
  for (const tensor of Object.values(feed)) tensor.dispose()
  return out
}

/** Largest |a - b| / (|b| + floor) over the elements. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  let worst = 0
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (Math.abs(expected[i]!) + floor))
  }
  return worst
}

export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [ay0, ax0, ay1, ax1] = [a[0]!, a[1]!, a[2]!, a[3]!]
  const [by0, bx0, by1, bx1] = [b[0]!, b[1]!, b[2]!, b[3]!]
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0))
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0))
  const inter = ih * iw
  const union = (ay1 - ay0) * (ax1 - ax0) + (by1 - by0) * (bx1 - bx0) - inter
  return union > 0 ? inter / union : 0
}
