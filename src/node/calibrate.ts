// Calibration for full-integer int8 (`--quantize int8-full`): the float model
// runs on representative inputs in this process, LiteRT.js on a float
// .tflite that also outputs the minimum and the maximum of every activation
// (reduced in the model, as two vectors in the order the core names), and
// each tensor's range is the widest over all samples. The core then writes
// the int8 file over those ranges, for exactly the tensors it measured.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { unzipSync } from 'fflate'

import { convert, type ConvertRequest, defaults } from '../native.js'
import type { TensorSpec } from '../runtime/types.js'
import { type Feed, type ImageOptions, InputMismatchError, parseNpy, readInput, readNpy } from './run-input.js'
import { loadTfliteBytes } from './run-model.js'

export type Ranges = Record<string, [number, number]>

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg'])

/** The ranges of every activation of `request`'s model over the samples in `source`. */
export async function calibrate(request: ConvertRequest, source: string, options: ImageOptions = {}): Promise<Ranges> {
  const float = await convert({ ...request, quantize: undefined, format: 'tflite', outputDir: undefined, calibrationOutputs: true })
  const model = await loadTfliteBytes('calibration', Buffer.from(float.files[0]!.data))
  try {
    const names = float.calibrationTensors
    const lo = new Float64Array(names.length).fill(Infinity)
    const hi = new Float64Array(names.length).fill(-Infinity)
    const [minName, maxName] = defaults().calibrationOutputs as [string, string]
    let count = 0
    for await (const record of samples(source, model.signature.inputs, options)) {
      const outputs = await model.run(record)
      const [mins, maxes] = [outputs[minName]!.data as Float32Array, outputs[maxName]!.data as Float32Array]
      for (let i = 0; i < names.length; i++) {
        lo[i] = Math.min(lo[i]!, mins[i]!)
        hi[i] = Math.max(hi[i]!, maxes[i]!)
      }
      count++
    }
    if (count === 0) throw new InputMismatchError('SHAPE_MISMATCH', `calibration source ${source} holds no samples`, source)
    return Object.fromEntries(names.map((name, i) => [name, [lo[i]!, hi[i]!]]))
  } finally {
    model.dispose()
  }
}

/** What a calibration module yields for each sample: a value per input, as `run()` takes it. */
export type CalibrationRecord = Record<string, Feed | Float32Array | Int32Array | Uint8Array>

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs'])

/** One record (a feed per input) per sample: the images of a folder, the rows
 * of an `.npy` or of each array of an `.npz`, or what a module yields. */
async function* samples(source: string, inputs: readonly TensorSpec[], options: ImageOptions): AsyncGenerator<CalibrationRecord> {
  const kind = statSync(source, { throwIfNoEntry: false })
  if (!kind) throw new InputMismatchError('FILE_NOT_FOUND', `calibration source ${source} does not exist`, source)
  const extension = extname(source).toLowerCase()
  if (MODULE_EXTENSIONS.has(extension)) {
    yield* moduleRecords(source, inputs)
    return
  }
  if (extension === '.npz') {
    yield* npzRecords(source, inputs)
    return
  }
  if (inputs.length !== 1) {
    throw new InputMismatchError('SHAPE_MISMATCH', `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); ${source} feeds one: use an .npz with an array per input, or a module`, source)
  }
  const input = inputs[0]!
  if (kind.isDirectory()) {
    const images = readdirSync(source).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort()
    for (const image of images) yield { [input.name]: readInput(join(source, image), input, options) }
    return
  }
  if (extension !== '.npy') {
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `calibration source ${source} is none of a folder of PNG/JPEG images, an .npy, an .npz or a module (.js, .mjs)`, source)
  }
  yield* rows({ [input.name]: readNpy(source, batchOf(input)) })
}

/** Samples run along the first axis, whatever batch size the model fixes. */
function batchOf(input: TensorSpec): TensorSpec {
  return { ...input, shape: input.shape ? [-1, ...input.shape.slice(1)] : null }
}

/** `np.savez`'s archive: one array per input, by its name (or the only array, for a one-input model). */
function* npzRecords(source: string, inputs: readonly TensorSpec[]): Generator<CalibrationRecord> {
  const arrays = unzipSync(new Uint8Array(readFileSync(source)))
  const names = Object.keys(arrays).map((n) => n.replace(/\.npy$/, ''))
  const batches: Record<string, Feed> = {}
  for (const input of inputs) {
    const name = names.includes(input.name) ? input.name : inputs.length === 1 && names.length === 1 ? names[0]! : undefined
    if (name === undefined) {
      throw new InputMismatchError('SHAPE_MISMATCH', `${source} has no array for input "${input.name}" (it has ${names.join(', ')})`, source, input.name)
    }
    batches[input.name] = parseNpy(Buffer.from(arrays[`${name}.npy`]!), `${source}:${name}`, batchOf(input))
  }
  yield* rows(batches)
}

/** Record `r` holds row `r` of every batch; the batches must agree on how many rows. */
function* rows(batches: Record<string, Feed>): Generator<CalibrationRecord> {
  const counts = new Set(Object.values(batches).map((b) => b.shape[0]!))
  if (counts.size > 1) throw new InputMismatchError('SHAPE_MISMATCH', `calibration arrays hold different numbers of samples: ${[...counts].join(', ')}`, '')
  const [count = 0] = counts
  for (let r = 0; r < count; r++) {
    const record: CalibrationRecord = {}
    for (const [name, { data, shape }] of Object.entries(batches)) {
      const size = shape.slice(1).reduce((a, b) => a * b, 1)
      record[name] = { data: data.subarray(r * size, (r + 1) * size), shape: [1, ...shape.slice(1)] }
    }
    yield record
  }
}

/** A module whose default export is an (async) iterable of records, or a function returning one. */
async function* moduleRecords(source: string, inputs: readonly TensorSpec[]): AsyncGenerator<CalibrationRecord> {
  const exported = ((await import(pathToFileURL(source).href)) as { default?: unknown }).default
  const iterable = (typeof exported === 'function' ? await (exported as () => unknown)() : exported) as AsyncIterable<CalibrationRecord> | Iterable<CalibrationRecord> | undefined
  const iterates = (v: unknown): boolean => v != null && (typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' || typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function')
  if (!iterates(iterable)) {
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `calibration module ${source} must export default an iterable (or async iterable) of input records, or a function returning one`, source)
  }
  for await (const record of iterable!) {
    for (const input of inputs) {
      if (!record || !(input.name in record)) {
        throw new InputMismatchError('SHAPE_MISMATCH', `a record of calibration module ${source} has no value for input "${input.name}"`, source, input.name)
      }
    }
    yield record
  }
}
