// Types shared by the loader modules the plugin generates and the runtime.

/** Dtypes as TensorFlow.js names them; TensorFlow's wider types are narrowed to these. */
export type DType = 'float32' | 'int32' | 'bool' | 'string' | 'complex64'

export interface TensorSpec {
  /** Node name, as in the TensorFlow graph (`image_tensor`, `model/y_pred`). */
  name: string
  /** `unknown` when the graph does not say (the data passed in decides). */
  dtype: DType | 'unknown'
  /** Dims, `-1` where unknown; `null` when even the rank is unknown. */
  shape: readonly number[] | null
}

export interface Signature {
  inputs: readonly TensorSpec[]
  outputs: readonly TensorSpec[]
}

export interface ModelSizes {
  /** Bytes of `model.json` (of the `.pb` or `.tflite`, for those formats). */
  modelJson: number
  /** Bytes of the weight shards as served. */
  weights: number
  /** Bytes of the same weights as float32, before quantization. */
  float32Weights: number
  /** Everything fetched: model.json plus shards. */
  total: number
}

export interface ModelFile {
  /** Path relative to model.json. */
  path: string
  bytes: number
}

// The core's enum (a type only: nothing of the addon reaches the browser).
export type QuantizationMode = `${import('../../native/index.cjs').QuantizeModeName}`

/** What a generated loader module knows about its model at build time. */
export interface ModelDescriptor {
  /** Stable id of the import (source path + directives). */
  id: string
  /** URL of `model.json` (or of the `.pb` or `.tflite` for those formats). */
  url: string
  /** Content hash of all model files; part of every cache key. */
  hash: string
  format: 'tfjs' | 'pb' | 'tflite'
  signature: Signature
  sizes: ModelSizes
  files: readonly ModelFile[]
  /** The graph has control flow or dynamic ops: TF.js must use `executeAsync`. */
  executeAsync: boolean
  quantization: QuantizationMode | null
  /** Loads TensorFlow.js core and converter (peer dependencies, imported lazily). */
  tfjs?: () => Promise<[unknown, unknown]>
  /** Backends installed in the app, each imported lazily. */
  backends?: Partial<Record<BackendName, () => Promise<unknown>>>
  /** Loads LiteRT.js (`@litertjs/core`, a peer dependency imported lazily), for `format=tflite`. */
  litert?: () => Promise<unknown>
  /** URLs of LiteRT.js's two non-threaded builds, served with the app: `compat`, and `relaxedSimd` where the engine has it. */
  litertWasm?: Record<LiteRtBuild, { js: string; wasm: string }>
  /** Set when the build bundled only the kernels it found its models using: their names. */
  kernels?: readonly string[]
}

export type BackendName = 'webgl' | 'wasm' | 'cpu' | 'webgpu'

/** The LiteRT.js builds an app ships (never the threaded or JSPI ones). */
export type LiteRtBuild = 'compat' | 'relaxedSimd'

/** A TypedArray of the kind TF.js uses for a dtype. */
export type TypedArrayFor<D extends DType> = D extends 'float32' | 'complex64'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'bool'
      ? Uint8Array
      : string[]

/** The data of an output. Where the types do not know the dtype (the generic
 * types before a build has declared the model, or a graph that does not say)
 * it is numeric, as nearly every output is, so ordinary arithmetic type-checks;
 * `string[]` only for an output declared `string`. */
export type OutputData<D extends DType> = DType extends D ? TypedArrayFor<Exclude<DType, 'string'>> : TypedArrayFor<D>

/** A tensor value as `run()` returns it. */
export interface OutputTensor<D extends DType = DType> {
  dtype: D
  shape: number[]
  data: OutputData<D>
}

/** What `run()` accepts for one input: data in the input's dtype (with its
 * shape taken from the signature), an explicit `{ data, shape }`, an image
 * source for image inputs, or a TF.js tensor. */
export type InputValue<D extends DType = DType> =
  | TypedArrayFor<D>
  | (D extends 'int32' ? Uint8Array | Uint8ClampedArray : never)
  | readonly number[]
  | { data: TypedArrayFor<D> | readonly number[] | Uint8Array | Uint8ClampedArray; shape: readonly number[] }
  | ImageSourceLike
  | TensorLike

/** `HTMLImageElement`, `HTMLVideoElement`, `HTMLCanvasElement`, `OffscreenCanvas`,
 * `ImageBitmap` or `ImageData`. Read at its natural size (`naturalWidth`,
 * `videoWidth`), not the size the page displays it at. */
export interface ImageSourceLike {
  width: number
  height: number
}

/** A TF.js tensor (structurally, so this file needs no TF.js types). */
export interface TensorLike {
  dtype: string
  shape: number[]
  dataSync(): unknown
  dispose(): void
}

/** Per-model input and output maps, generated into `tfmodel-env.d.ts`. */
export type SpecMap = Record<string, { dtype: DType; shape: readonly number[] | null }>

export type Inputs<I extends SpecMap> = { [K in keyof I]: InputValue<I[K]['dtype']> }
export type Outputs<O extends SpecMap> = { [K in keyof O]: OutputTensor<O[K]['dtype']> }
