// Loads and runs a `format=tflite` import on LiteRT.js (`@litertjs/core`, an
// optional peer dependency imported lazily), with the same `run()` as a TF.js
// model: TypedArrays, `{ data, shape }` or image sources in, named outputs out.
import type * as litert from '@litertjs/core'

import { TfModelRuntimeError } from './errors.js'
import { type FetchOptions, fetchModelBytes } from './fetch-model.js'
import { inferShape, isExplicit, isImageSource, type Pixels, readPixels } from './inputs.js'
import type { BackendName, DType, ImageSourceLike, Inputs, ModelDescriptor, OutputTensor, Outputs, SpecMap, TensorSpec } from './types.js'

type LiteRt = typeof litert
type Accelerator = 'wasm' | 'webgpu'

/** What a loaded `.tflite` offers beyond the shared `LoadedModel` fields. */
export interface LoadedTflite<I extends SpecMap, O extends SpecMap> {
  readonly backend: Accelerator
  run(inputs: Inputs<I>): Promise<Outputs<O>>
  /** The LiteRT.js model compiled for batch 1 (others are compiled on first use). */
  readonly compiledModel: litert.CompiledModel
  dispose(): void
}

export async function loadTflite<I extends SpecMap, O extends SpecMap>(
  descriptor: ModelDescriptor,
  options: FetchOptions & { backend?: BackendName; warmup?: boolean },
): Promise<LoadedTflite<I, O>> {
  const accelerator = options.backend ?? 'wasm'
  if (accelerator !== 'wasm' && accelerator !== 'webgpu') {
    throw new TfModelRuntimeError('BACKEND_UNSUPPORTED', `a .tflite model runs on LiteRT.js's "wasm" or "webgpu", not "${accelerator}"`, accelerator)
  }
  const [lib, bytes] = await Promise.all([startLiteRt(descriptor, options.baseUrl), fetchModelBytes(descriptor, descriptor.url, options)])
  if (options.signal?.aborted) {
    throw new TfModelRuntimeError('ABORTED', `loading ${descriptor.url} was aborted`, descriptor.url, { cause: options.signal.reason })
  }
  // LiteRT.js 2.5.3 cannot resize inputs and refuses a tensor whose batch is not the
  // file's (-1 in `shape_signature`): one compiled copy per batch size, each with its batch fixed.
  const compiled = new Map<number, litert.CompiledModel>()
  let disposed = false
  const compile = async (batch: number) => {
    if (disposed) throw new TfModelRuntimeError('INVALID_INPUT', `${descriptor.id} was disposed`, descriptor.id)
    let model = compiled.get(batch)
    if (!model) {
      try {
        model = await lib.loadAndCompile(withBatch(bytes, batch), { accelerator })
      } catch (error) {
        throw new TfModelRuntimeError('BACKEND_UNSUPPORTED', `LiteRT.js (${accelerator}) cannot run ${descriptor.id}: ${(error as Error).message}`, accelerator, { cause: error })
      }
      compiled.set(batch, model)
    }
    return model
  }
  const first = await compile(1)
  const loaded: LoadedTflite<I, O> = {
    backend: accelerator,
    compiledModel: first,
    run: async (inputs) => runTflite<O>(lib, compile, descriptor, inputs as Record<string, unknown>),
    dispose() {
      disposed = true
      for (const model of compiled.values()) model.delete()
      compiled.clear()
    },
  }
  if (options.warmup !== false) {
    try {
      await loaded.run(zeros(first, descriptor) as Inputs<I>)
    } catch (error) {
      loaded.dispose()
      throw error
    }
  }
  return loaded
}

let started: Promise<LiteRt> | undefined

/** Imports LiteRT.js and loads the one WASM build this engine can run, from the app's own files. */
function startLiteRt(descriptor: ModelDescriptor, baseUrl: FetchOptions['baseUrl']): Promise<LiteRt> {
  if (!descriptor.litert || !descriptor.litertWasm) {
    throw new TfModelRuntimeError('MISSING_DEPENDENCY', 'LiteRT.js is not installed: add @litertjs/core to the app to load a format=tflite model')
  }
  const { litert: importLiteRt, litertWasm: builds } = descriptor
  started ??= (async () => {
    const lib = (await importLiteRt()) as LiteRt
    const build = builds[(await lib.supportsFeature('relaxedSimd')) ? 'relaxedSimd' : 'compat']
    const base = baseUrl ?? globalThis.location?.href
    // The glue script is told the binary's hashed URL through Emscripten's `Module.locateFile`
    // (it would otherwise look for its original file name beside itself).
    const wasmUrl = new URL(build.wasm, base).href
    ;(globalThis as { Module?: unknown }).Module = { locateFile: () => wasmUrl }
    const existing = lib.getGlobalLiteRtPromise()
    if (!existing) await lib.loadLiteRt(new URL(build.js, base).href)
    else await existing
    return lib
  })().catch((error: unknown) => {
    started = undefined
    if (error instanceof TfModelRuntimeError) throw error
    throw new TfModelRuntimeError('BACKEND_UNSUPPORTED', `LiteRT.js did not start: ${(error as Error)?.message ?? error}`, undefined, { cause: error })
  })
  return started
}

async function runTflite<O extends SpecMap>(
  lib: LiteRt,
  compile: (batch: number) => Promise<litert.CompiledModel>,
  descriptor: ModelDescriptor,
  inputs: Record<string, unknown>,
): Promise<Outputs<O>> {
  const { signature } = descriptor
  for (const name of Object.keys(inputs)) {
    if (!signature.inputs.some((s) => s.name === name)) {
      const known = signature.inputs.map((s) => `"${s.name}"`).join(', ')
      throw new TfModelRuntimeError('INVALID_INPUT', `unknown input "${name}" (inputs: ${known})`, name)
    }
  }
  const first = await compile(1)
  const dtypes = new Map(first.getInputDetails().map((d) => [d.name, d.dtype]))
  const values = signature.inputs.map((spec) => {
    const value = inputs[spec.name]
    if (value === undefined) throw new TfModelRuntimeError('INVALID_INPUT', `missing input "${spec.name}"`, spec.name)
    return inputArray(spec, dtypes.get(spec.name) ?? 'float32', value)
  })
  const batch = batchOf(signature.inputs, values)
  const model = await compile(batch)
  const feed: Record<string, litert.Tensor> = {}
  let results: Record<string, litert.Tensor> = {}
  try {
    for (const [i, spec] of signature.inputs.entries()) feed[spec.name] = new lib.Tensor(values[i]!.data as litert.TypedArray, values[i]!.shape)
    results = await model.run(feed)
    const outputs: Record<string, OutputTensor> = {}
    for (const spec of signature.outputs) {
      const tensor = results[spec.name]
      if (!tensor) throw new TfModelRuntimeError('INVALID_INPUT', `the .tflite has no output "${spec.name}"`, spec.name)
      const data = tensor.toTypedArray()
      outputs[spec.name] = { dtype: dtypeOf(data), shape: [...tensor.type.layout.dimensions], data: data as OutputTensor['data'] }
    }
    return outputs as Outputs<O>
  } catch (error) {
    if (error instanceof TfModelRuntimeError) throw error
    throw new TfModelRuntimeError('INVALID_INPUT', `running ${descriptor.id} failed: ${(error as Error)?.message ?? error}`, descriptor.id, { cause: error })
  } finally {
    for (const tensor of [...Object.values(feed), ...Object.values(results)]) tensor.delete()
  }
}

type InputArray = { data: Float32Array | Int32Array | Uint8Array; shape: number[] }

const TYPED: Record<string, Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor> = {
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
}

/** The values of one input as the TypedArray LiteRT.js takes for its dtype, with their shape. */
function inputArray(spec: TensorSpec, dtype: string, value: unknown): InputArray {
  const Typed = TYPED[dtype]
  if (!Typed) throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}" is ${dtype}, which LiteRT.js cannot take from JavaScript`, spec.name)
  if (isImageSource(value)) return imageArray(spec, Typed, value)
  const { data, shape } = isExplicit(value) ? value : { data: value as ArrayLike<number>, shape: undefined }
  if (typeof data !== 'object' || data === null || typeof (data as ArrayLike<number>).length !== 'number') {
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}" takes a TypedArray, an array of numbers, { data, shape } or an image`, spec.name)
  }
  const dims = shape ? [...shape] : inferShape(spec, data.length)
  const count = dims.reduce((a, b) => a * b, 1)
  if (count !== data.length) {
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": shape [${dims.join(', ')}] takes ${count} values, got ${data.length}`, spec.name)
  }
  return { data: data instanceof Typed ? data : Typed.from(data), shape: dims }
}

/** The batch every input shares, where the signature leaves it open; 1 where it is fixed. */
function batchOf(specs: readonly TensorSpec[], values: InputArray[]): number {
  let batch = 1
  for (const [i, spec] of specs.entries()) {
    if (spec.shape?.[0] !== -1) continue
    const dim = values[i]!.shape[0] ?? 1
    if (batch !== 1 && dim !== batch) {
      throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}" has batch ${dim}, another input ${batch}`, spec.name)
    }
    batch = dim
  }
  return batch
}

/** An image's pixels resized to the input's height and width as TensorFlow 2's `tf.image.resize`
 * does (bilinear, half-pixel centers), rounded to whole levels as the TF.js path does. */
function imageArray(spec: TensorSpec, Typed: (typeof TYPED)[string], source: ImageSourceLike): InputArray {
  const shape = spec.shape ?? [-1, -1, -1, 3]
  const batched = shape.length === 4
  const channels = shape[shape.length - 1]! > 0 ? shape[shape.length - 1]! : 3
  const pixels = readPixels(spec, source) as Pixels & { data: Uint8ClampedArray | Uint8Array }
  const [height, width] = (batched ? [shape[1]!, shape[2]!] : [shape[0]!, shape[1]!]).map((d, i) => (d > 0 ? d : i === 0 ? pixels.height : pixels.width)) as [number, number]
  const data = new Typed(height * width * channels)
  const rows = axisWeights(height, pixels.height)
  const cols = axisWeights(width, pixels.width)
  const stride = pixels.data.length / (pixels.width * pixels.height) // ImageData is RGBA
  for (let y = 0; y < height; y++) {
    const [y0, y1, fy] = rows[y]!
    for (let x = 0; x < width; x++) {
      const [x0, x1, fx] = cols[x]!
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => pixels.data[(yy * pixels.width + xx) * stride + c]!
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx
        data[(y * width + x) * channels + c] = Math.round(top + (bottom - top) * fy)
      }
    }
  }
  return { data, shape: batched ? [1, height, width, channels] : [height, width, channels] }
}

/** For each output row (or column): the two source rows it blends and the weight of the second. */
function axisWeights(out: number, size: number): [number, number, number][] {
  const scale = size / out
  return Array.from({ length: out }, (_, i) => {
    const at = (i + 0.5) * scale - 0.5
    const floor = Math.floor(at)
    return [Math.min(Math.max(floor, 0), size - 1), Math.min(Math.max(floor + 1, 0), size - 1), at - floor]
  })
}

function dtypeOf(data: unknown): DType {
  return data instanceof Float32Array ? 'float32' : 'int32'
}

/** Zeros of each input's shape at batch 1, in its dtype: the warm-up run. */
function zeros(model: litert.CompiledModel, descriptor: ModelDescriptor): Record<string, InputArray> {
  const details = new Map(model.getInputDetails().map((d) => [d.name, d]))
  const inputs: Record<string, InputArray> = {}
  for (const spec of descriptor.signature.inputs) {
    const detail = details.get(spec.name)
    const shape = [...(detail?.shape ?? spec.shape ?? [1])].map((d) => (d < 0 ? 1 : d))
    const Typed = TYPED[detail?.dtype ?? 'float32'] ?? Float32Array
    inputs[spec.name] = { data: new Typed(shape.reduce((a, b) => a * b, 1)), shape }
  }
  return inputs
}

/**
 * A copy of a `.tflite` whose open dims (-1 in a tensor's `shape_signature`)
 * are fixed to `batch`, in `shape` too. The file is a flatbuffer; these are
 * int32 vectors patched in place, so nothing else moves.
 */
export function withBatch(file: Uint8Array, batch: number): Uint8Array {
  const bytes = file.slice()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u32 = (at: number) => view.getUint32(at, true)
  /** Position of field `index` of the table at `table`, or undefined when absent. */
  const field = (table: number, index: number): number | undefined => {
    const vtable = table - view.getInt32(table, true)
    const offset = 4 + 2 * index < view.getUint16(vtable, true) ? view.getUint16(vtable + 4 + 2 * index, true) : 0
    return offset === 0 ? undefined : table + offset
  }
  const vector = (at: number | undefined): number[] => {
    if (at === undefined) return []
    const start = at + u32(at)
    return Array.from({ length: u32(start) }, (_, i) => start + 4 + 4 * i)
  }
  const table = (at: number) => at + u32(at)
  const model = u32(0)
  for (const subgraph of vector(field(model, 2)).map(table)) {
    for (const tensor of vector(field(subgraph, 0)).map(table)) {
      const signature = vector(field(tensor, 7))
      const shape = vector(field(tensor, 0))
      for (const [i, at] of signature.entries()) {
        if (view.getInt32(at, true) !== -1) continue
        view.setInt32(at, batch, true)
        if (shape[i] !== undefined) view.setInt32(shape[i]!, batch, true)
      }
    }
  }
  return bytes
}
