// Turns what an app passes to `run()` into TF.js tensors of the input's dtype and shape.
import type * as tfc from '@tensorflow/tfjs-core'

import { TfModelRuntimeError } from './errors.js'
import type { TensorSpec } from './types.js'

export function toTensor(tf: typeof tfc, spec: TensorSpec, value: unknown): tfc.Tensor {
  if (value instanceof tf.Tensor) return value
  if (isImageSource(value)) return imageTensor(tf, spec, value)
  const { data, shape } = isExplicit(value) ? value : { data: value, shape: undefined }
  const values = data as ArrayLike<number> | string[]
  const dims = shape ? [...shape] : inferShape(spec, values.length)
  const dtype = spec.dtype === 'complex64' ? 'float32' : spec.dtype === 'unknown' ? dtypeOf(values) : spec.dtype
  try {
    return tf.tensor(values as number[], dims, dtype)
  } catch (error) {
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": ${(error as Error).message}`, spec.name, { cause: error })
  }
}

/** The dtype of data whose input the graph does not type. */
function dtypeOf(values: unknown): 'float32' | 'int32' | 'bool' | 'string' {
  if (values instanceof Int32Array) return 'int32'
  if (Array.isArray(values) && typeof values[0] === 'string') return 'string'
  if (Array.isArray(values) && typeof values[0] === 'boolean') return 'bool'
  return 'float32'
}

function isExplicit(value: unknown): value is { data: ArrayLike<number>; shape: readonly number[] } {
  return typeof value === 'object' && value !== null && 'data' in value && 'shape' in value
}

function isImageSource(value: unknown): value is { width: number; height: number } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !Array.isArray(value) &&
    typeof (value as { width?: unknown }).width === 'number' &&
    typeof (value as { height?: unknown }).height === 'number'
  )
}

/** The signature's shape with its one unknown dim (usually the batch) filled from the data length. */
function inferShape(spec: TensorSpec, length: number): number[] {
  if (!spec.shape) return [length]
  const known = spec.shape.reduce((a, d) => (d >= 0 ? a * d : a), 1)
  const unknown = spec.shape.filter((d) => d < 0).length
  if (unknown === 0) {
    if (known !== length) {
      throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}" takes ${known} values (shape [${spec.shape.join(', ')}]), got ${length}`, spec.name)
    }
    return [...spec.shape]
  }
  if (unknown > 1 || length % known !== 0) {
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}" has shape [${spec.shape.join(', ')}]: pass { data, shape }`, spec.name)
  }
  return spec.shape.map((d) => (d < 0 ? length / known : d))
}

/** Pixels of an image, canvas or ImageData, resized to the input's height and width and batched. */
function imageTensor(tf: typeof tfc, spec: TensorSpec, source: { width: number; height: number }): tfc.Tensor {
  const shape = spec.shape ?? [-1, -1, -1, 3]
  const channels = shape[shape.length - 1] ?? 3
  return tf.tidy(() => {
    let pixels: tfc.Tensor3D = tf.browser.fromPixels(source as Parameters<typeof tf.browser.fromPixels>[0], channels > 0 ? channels : 3)
    const [height, width] = shape.length === 4 ? [shape[1]!, shape[2]!] : [shape[0]!, shape[1]!]
    if (height > 0 && width > 0 && (height !== source.height || width !== source.width)) {
      pixels = tf.round(tf.image.resizeBilinear(pixels, [height, width]))
    }
    const typed = tf.cast(pixels, spec.dtype === 'int32' ? 'int32' : 'float32')
    return shape.length === 4 ? tf.expandDims(typed, 0) : typed
  })
}
