// The object a model import's default export is: what the build knows about
// the model, `load()` to fetch and build it on TF.js, and live updates in dev.
import type * as tfconv from '@tensorflow/tfjs-converter'
import type * as tfc from '@tensorflow/tfjs-core'

import { activateBackend, backendCandidates, withWatchdog } from './backend.js'
import { dequantizeInt8, type WeightSpec } from './dequantize.js'
import { TfModelRuntimeError } from './errors.js'
import { type FetchOptions, fetchModel } from './fetch-model.js'
import { toTensor } from './inputs.js'
import type {
  BackendName,
  DType,
  Inputs,
  ModelDescriptor,
  ModelSizes,
  OutputTensor,
  Outputs,
  Signature,
  SpecMap,
} from './types.js'

export interface LoadOptions extends FetchOptions {
  /** Force a backend; by default WebGL, then WASM, then CPU, whichever is installed and works. */
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
  /** The underlying TF.js GraphModel, for anything `run` does not cover. */
  readonly graphModel: tfconv.GraphModel
  dispose(): void
}

export interface TfModel<I extends SpecMap = SpecMap, O extends SpecMap = SpecMap> {
  /** URL of model.json. In dev it changes when the checkpoint does. */
  readonly url: string
  readonly signature: Signature
  readonly sizes: ModelSizes
  readonly hash: string
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
    load: (options: LoadOptions = {}) => loadModel<I, O>(current, options),
    onUpdate(callback: (model: TfModel<I, O>) => void) {
      listeners.add(callback)
      return () => listeners.delete(callback)
    },
    update(next: Partial<ModelDescriptor>) {
      current = { ...current, ...next }
      for (const listener of listeners) listener(model)
    },
  }
  return model
}

async function loadTfjs(descriptor: ModelDescriptor): Promise<[typeof tfc, typeof tfconv]> {
  if (!descriptor.tfjs) {
    throw new TfModelRuntimeError(
      'MISSING_DEPENDENCY',
      'TensorFlow.js is not installed: add @tensorflow/tfjs-core, @tensorflow/tfjs-converter and a backend to the app',
    )
  }
  return (await descriptor.tfjs()) as [typeof tfc, typeof tfconv]
}

async function loadModel<I extends SpecMap, O extends SpecMap>(descriptor: ModelDescriptor, options: LoadOptions): Promise<LoadedModel<I, O>> {
  if (descriptor.format !== 'tfjs') {
    throw new TfModelRuntimeError('INVALID_INPUT', `${descriptor.id} was built with format=pb; only TF.js models can be loaded in the app`)
  }
  const [tf, converter] = await loadTfjs(descriptor)
  const fetched = await fetchModel(descriptor, descriptor.url, options)
  const manifest = fetched.modelJson.weightsManifest as { weights: WeightSpec[] }[]
  const { specs, data } = dequantizeInt8(manifest.flatMap((group) => group.weights), fetched.weightData)

  let lastError: unknown
  for (const backend of backendCandidates(descriptor, tf, options.backend)) {
    if (!(await activateBackend(descriptor, tf, backend, options.backend !== undefined))) continue
    const graphModel = await converter.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: fetched.modelJson.modelTopology as object,
        weightSpecs: specs as tfc.io.WeightsManifestEntry[],
        weightData: data,
        format: 'graph-model',
        signature: fetched.modelJson.signature as object,
      }),
    )
    const loaded = wrap<I, O>(tf, graphModel, descriptor, backend)
    if (options.warmup === false) return loaded
    try {
      await withWatchdog(warmup(tf, loaded, descriptor), options.watchdogMs ?? 15_000, `the first run on ${backend}`)
      return loaded
    } catch (error) {
      lastError = error
      loaded.dispose()
      if (options.backend) throw error
    }
  }
  throw new TfModelRuntimeError('BACKEND_UNSUPPORTED', `no TensorFlow.js backend could run ${descriptor.id}`, undefined, {
    cause: lastError,
  })
}

function wrap<I extends SpecMap, O extends SpecMap>(
  tf: typeof tfc,
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
        const outputs: Record<string, OutputTensor> = {}
        for (const [i, tensor] of tensors.entries()) {
          outputs[names[i]!] = {
            dtype: tensor.dtype as DType,
            shape: tensor.shape.slice(),
            data: (await tensor.data()) as OutputTensor['data'],
          }
          tensor.dispose()
        }
        return outputs as Outputs<O>
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
async function warmup(tf: typeof tfc, model: LoadedModel<SpecMap, SpecMap>, descriptor: ModelDescriptor): Promise<void> {
  const inputs: Record<string, tfc.Tensor> = {}
  for (const spec of descriptor.signature.inputs) {
    const shape = (spec.shape ?? [1]).map((d) => (d < 0 ? 1 : d))
    inputs[spec.name] = tf.zeros(shape, spec.dtype === 'string' ? 'float32' : spec.dtype)
  }
  try {
    await model.run(inputs as never)
  } finally {
    for (const tensor of Object.values(inputs)) tensor.dispose()
  }
}
