// The object a model import's default export is: what the build knows about
// the model, `load()` to fetch and build it on TF.js (or LiteRT.js, for a
// `.tflite`), and live updates in dev.
import type * as tfconv from '@tensorflow/tfjs-converter'
import type * as tfc from '@tensorflow/tfjs-core'

import { activateBackend, backendCandidates, leftOutKernel, withWatchdog } from './backend.js'
import { dequantizeInt8, type WeightSpec } from './dequantize.js'
import { TfModelRuntimeError } from './errors.js'
import { type FetchOptions, fetchModel } from './fetch-model.js'
import { toTensor } from './inputs.js'
import { loadTflite } from './litert.js'
import type { TfjsCore } from './tfjs-api.js'
import type {
  BackendName,
  DType,
  Inputs,
  ModelDescriptor,
  ModelSizes,
  OutputTensor,
  Outputs,
  QuantizationMode,
  Signature,
  SpecMap,
} from './types.js'

export interface LoadOptions extends FetchOptions {
  /** Force a backend; by default WebGL, then WASM, then CPU, whichever is installed and works.
   * A `.tflite` runs on LiteRT.js's `'wasm'` (the default) or `'webgpu'`. */
  backend?: BackendName
  /** Run the model once on zeros after loading, so the first real run is fast (default true). */
  warmup?: boolean
  /** Milliseconds the first run on a backend may take before the next backend is tried (default 15000). */
  watchdogMs?: number
}

export interface LoadedModel<I extends SpecMap = SpecMap, O extends SpecMap = SpecMap> {
  readonly signature: Signature
  /** The backend the model runs on. */
  readonly backend: BackendName
  /** Runs the model: named inputs in, named outputs out (as TypedArrays with shapes). */
  run(inputs: Inputs<I>): Promise<Outputs<O>>
  /** The underlying TF.js GraphModel, for anything `run` does not cover (a `.tflite` has none: reading it throws). */
  readonly graphModel: tfconv.GraphModel
  /** The LiteRT.js model of a `.tflite` (compiled for batch 1); undefined for TF.js models. */
  readonly compiledModel?: import('@litertjs/core').CompiledModel
  dispose(): void
}

export interface TfModel<I extends SpecMap = SpecMap, O extends SpecMap = SpecMap> {
  /** URL of model.json. In dev it changes when the checkpoint does. */
  readonly url: string
  readonly signature: Signature
  readonly sizes: ModelSizes
  readonly hash: string
  /** How the weights were quantized at build time (`null`: float32). */
  readonly quantization: QuantizationMode | null
  load(options?: LoadOptions): Promise<LoadedModel<I, O>>
  /** Called when a new checkpoint was converted (dev server); returns an unsubscribe function. */
  onUpdate(callback: (model: TfModel<I, O>) => void): () => void
}

/** Used by generated loader modules. */
export function createModel<I extends SpecMap = SpecMap, O extends SpecMap = SpecMap>(descriptor: ModelDescriptor): TfModel<I, O> & {
  /** Applies a dev-server update (new URL, hash and sizes). */
  update(next: Partial<ModelDescriptor>): void
} {
  let current = descriptor
  const listeners = new Set<(model: TfModel<I, O>) => void>()
  const model = {
    get url() {
      return current.url
    },
    get signature() {
      return current.signature
    },
    get sizes() {
      return current.sizes
    },
    get hash() {
      return current.hash
    },
    get quantization() {
      return current.quantization
    },
    load: (options: LoadOptions = {}) => loadModel<I, O>(current, options),
    onUpdate(callback: (model: TfModel<I, O>) => void) {
      listeners.add(callback)
      return () => listeners.delete(callback)
    },
    update(next: Partial<ModelDescriptor>) {
      const changed = next.hash !== undefined && next.hash !== current.hash
      current = { ...current, ...next }
      if (changed) for (const listener of listeners) listener(model)
    },
  }
  return model
}

async function loadTfjs(descriptor: ModelDescriptor): Promise<[TfjsCore, typeof tfconv]> {
  if (!descriptor.tfjs) {
    throw new TfModelRuntimeError(
      'MISSING_DEPENDENCY',
      'TensorFlow.js is not installed: add @tensorflow/tfjs-core, @tensorflow/tfjs-converter and a backend to the app',
    )
  }
  return (await descriptor.tfjs()) as [TfjsCore, typeof tfconv]
}

async function loadModel<I extends SpecMap, O extends SpecMap>(descriptor: ModelDescriptor, options: LoadOptions): Promise<LoadedModel<I, O>> {
  if (descriptor.format === 'tflite') return tfliteModel<I, O>(descriptor, options)
  if (descriptor.format !== 'tfjs') {
    throw new TfModelRuntimeError('INVALID_INPUT', `${descriptor.id} was built with format=pb; only TF.js models can be loaded in the app`)
  }
  const [tf, converter] = await loadTfjs(descriptor)
  const fetched = await fetchModel(descriptor, descriptor.url, options)
  const manifest = fetched.modelJson.weightsManifest
  if (!Array.isArray(manifest)) {
    throw new TfModelRuntimeError('INTEGRITY_ERROR', `${descriptor.url} has no weightsManifest`, descriptor.url)
  }
  const { specs, data } = dequantizeInt8((manifest as { weights: WeightSpec[] }[]).flatMap((group) => group.weights), fetched.weightData)

  const forced = options.backend !== undefined
  let lastError: unknown
  for (const backend of backendCandidates(descriptor, tf, options.backend)) {
    if (options.signal?.aborted) {
      throw new TfModelRuntimeError('ABORTED', `loading ${descriptor.url} was aborted`, descriptor.url, { cause: options.signal.reason })
    }
    let loaded: LoadedModel<I, O> | undefined
    try {
      if (!(await activateBackend(descriptor, tf, backend, forced))) continue
      const graphModel = await converter.loadGraphModel(
        tf.io.fromMemory({
          modelTopology: fetched.modelJson.modelTopology as object,
          weightSpecs: specs as tfc.io.WeightsManifestEntry[],
          weightData: data,
          format: 'graph-model',
          signature: fetched.modelJson.signature as object,
          // Fills the model's lookup tables once, before the first run.
          ...(fetched.modelJson.modelInitializer !== undefined && {
            modelInitializer: fetched.modelJson.modelInitializer as object,
            initializerSignature: fetched.modelJson.initializerSignature as object,
          }),
        }),
      )
      loaded = wrap<I, O>(tf, graphModel, descriptor, backend)
      if (options.warmup !== false) {
        await withWatchdog(warmup(loaded, descriptor), options.watchdogMs ?? 15_000, `the first run on ${backend}`)
      }
      return loaded
    } catch (error) {
      // A backend that fails to import, to build the model or to run it once
      // gives way to the next one, unless the app asked for it by name.
      // A kernel the build left out is missing on every backend alike.
      const leftOut = leftOutKernel(descriptor, error)
      lastError = leftOut ?? error
      loaded?.dispose()
      if (forced || leftOut) throw backendError(backend, lastError)
    }
  }
  throw backendError(undefined, lastError, descriptor.id)
}

async function tfliteModel<I extends SpecMap, O extends SpecMap>(descriptor: ModelDescriptor, options: LoadOptions): Promise<LoadedModel<I, O>> {
  const loaded = await loadTflite<I, O>(descriptor, options)
  return {
    signature: descriptor.signature,
    backend: loaded.backend,
    compiledModel: loaded.compiledModel,
    get graphModel(): tfconv.GraphModel {
      throw new TfModelRuntimeError('INVALID_INPUT', `${descriptor.id} is a .tflite run by LiteRT.js: it has no TF.js GraphModel (see compiledModel)`)
    },
    run: (inputs) => loaded.run(inputs),
    dispose: () => loaded.dispose(),
  }
}

function backendError(backend: BackendName | undefined, cause: unknown, model?: string): TfModelRuntimeError {
  if (cause instanceof TfModelRuntimeError && cause.code !== 'BACKEND_UNSUPPORTED') return cause
  const message = backend
    ? `the ${backend} backend cannot run this model: ${(cause as Error)?.message ?? cause}`
    : `no TensorFlow.js backend could run ${model}`
  return new TfModelRuntimeError('BACKEND_UNSUPPORTED', message, backend, { cause })
}

function wrap<I extends SpecMap, O extends SpecMap>(
  tf: TfjsCore,
  graphModel: tfconv.GraphModel,
  descriptor: ModelDescriptor,
  backend: BackendName,
): LoadedModel<I, O> {
  const { signature } = descriptor
  return {
    signature,
    backend,
    graphModel,
    async run(inputs: Inputs<I>): Promise<Outputs<O>> {
      // The backend is global in TF.js: another model's load may have switched it.
      if (tf.getBackend() !== backend) await tf.setBackend(backend)
      const feed: Record<string, tfc.Tensor> = {}
      const owned: tfc.Tensor[] = []
      try {
        for (const spec of signature.inputs) {
          const value = (inputs as Record<string, unknown>)[spec.name]
          if (value === undefined) {
            throw new TfModelRuntimeError('INVALID_INPUT', `missing input "${spec.name}"`, spec.name)
          }
          const tensor = toTensor(tf, spec, value)
          if (tensor !== value) owned.push(tensor)
          feed[spec.name] = tensor
        }
        for (const name of Object.keys(inputs)) {
          if (!signature.inputs.some((s) => s.name === name)) {
            const known = signature.inputs.map((s) => `"${s.name}"`).join(', ')
            throw new TfModelRuntimeError('INVALID_INPUT', `unknown input "${name}" (inputs: ${known})`, name)
          }
        }
        const names = signature.outputs.map((s) => s.name)
        const result = descriptor.executeAsync ? await graphModel.executeAsync(feed, names) : graphModel.execute(feed, names)
        const tensors = Array.isArray(result) ? result : [result]
        owned.push(...tensors)
        const outputs: Record<string, OutputTensor> = {}
        for (const [i, tensor] of tensors.entries()) {
          outputs[names[i]!] = { dtype: tensor.dtype as DType, shape: tensor.shape.slice(), data: (await tensor.data()) as OutputTensor['data'] }
        }
        return outputs as Outputs<O>
      } catch (error) {
        throw leftOutKernel(descriptor, error) ?? error
      } finally {
        for (const tensor of owned) tensor.dispose()
      }
    },
    dispose() {
      graphModel.dispose()
    },
  }
}

/** One run on zeros of the signature's shapes (unknown dims as 1). */
async function warmup<I extends SpecMap, O extends SpecMap>(model: LoadedModel<I, O>, descriptor: ModelDescriptor): Promise<void> {
  const inputs: Record<string, { data: number[]; shape: number[] }> = {}
  for (const spec of descriptor.signature.inputs) {
    const shape = (spec.shape ?? [1]).map((d) => (d < 0 ? 1 : d))
    inputs[spec.name] = { data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0), shape }
  }
  await model.run(inputs as Inputs<I>)
}
