// Turns what an app passes to `run()` into TF.js tensors of the input's dtype and shape
// (the reading of shapes and pixels is shared with the LiteRT.js loader).
import type * as tfc from '@tensorflow/tfjs-core'

import { TfModelRuntimeError } from './errors.js'
import type { TfjsCore } from './tfjs-api.js'
import type { ImageSourceLike, TensorSpec } from './types.js'

export function toTensor(tf: TfjsCore, spec: TensorSpec, value: unknown): tfc.Tensor {
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

export function isExplicit(value: unknown): value is { data: ArrayLike<number>; shape: readonly number[] } {
  return typeof value === 'object' && value !== null && 'data' in value && 'shape' in value
}

export function isImageSource(value: unknown): value is ImageSourceLike {
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
export function inferShape(spec: TensorSpec, length: number): number[] {
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

/** The pixels of an image source at its own size, resized once (bilinearly) to the input's height and width, and batched. */
function imageTensor(tf: TfjsCore, spec: TensorSpec, source: ImageSourceLike): tfc.Tensor {
  const shape = spec.shape ?? [-1, -1, -1, 3]
  const channels = shape[shape.length - 1] ?? 3
  const pixels = readPixels(spec, source)
  return tf.tidy(() => {
    let image: tfc.Tensor3D = tf.browser.fromPixels(pixels, channels > 0 ? channels : 3)
    const [height, width] = shape.length === 4 ? [shape[1]!, shape[2]!] : [shape[0]!, shape[1]!]
    if (height > 0 && width > 0 && (height !== pixels.height || width !== pixels.width)) {
      // Half-pixel centers, as TensorFlow 2's tf.image.resize: pixel centers map onto
      // pixel centers, so a scaled image does not shift toward its top-left corner.
      image = tf.round(tf.image.resizeBilinear(image, [height, width], false, true))
    }
    const typed = tf.cast(image, spec.dtype === 'int32' ? 'int32' : 'float32')
    return shape.length === 4 ? tf.expandDims(typed, 0) : typed
  })
}

export type Pixels = Parameters<typeof tfc.browser.fromPixels>[0] & { width: number; height: number }

/**
 * The source's pixels at its natural size: an `<img>` shown at another size
 * would otherwise be read at its layout size (`width`), scaled once by the
 * browser and again by the resize. Everything but pixel data itself is drawn
 * 1:1 onto a 2D canvas, so every kind of source is read the same way (a WebGL
 * canvas too, which has no 2D context to read).
 */
export function readPixels(spec: TensorSpec, source: ImageSourceLike): Pixels {
  if ('data' in source) return source as Pixels
  const { width, height } = naturalSize(spec, source)
  const context = scratchContext(spec, width, height)
  try {
    context.drawImage(source as CanvasImageSource, 0, 0)
    return context.getImageData(0, 0, width, height)
  } catch (error) {
    // Not drawable, or from another origin without CORS (the canvas is then tainted).
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": cannot read the image's pixels: ${(error as Error).message}`, spec.name, { cause: error })
  }
}

function naturalSize(spec: TensorSpec, source: ImageSourceLike): { width: number; height: number } {
  const media = source as Partial<HTMLImageElement & HTMLVideoElement>
  if (typeof media.videoWidth === 'number') {
    // HAVE_CURRENT_DATA: before it the video has no frame, and would read as zeros.
    if ((media.readyState ?? 0) < 2 || media.videoWidth === 0) {
      throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": the video has no frame yet (wait for its "loadeddata" event)`, spec.name)
    }
    return { width: media.videoWidth, height: media.videoHeight! }
  }
  if (typeof media.naturalWidth === 'number') {
    if (!media.complete || media.naturalWidth === 0) {
      throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": the image has not loaded, or is broken (await img.decode() first)`, spec.name)
    }
    return { width: media.naturalWidth, height: media.naturalHeight! }
  }
  if (source.width === 0 || source.height === 0) {
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": the image source is empty (${source.width}x${source.height})`, spec.name)
  }
  return { width: source.width, height: source.height }
}

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D
let scratch: Context2D | undefined

/** One 2D canvas to read pixels through: an OffscreenCanvas where there is one (workers have no DOM). */
function scratchContext(spec: TensorSpec, width: number, height: number): Context2D {
  scratch ??= createContext2D()
  if (!scratch) {
    throw new TfModelRuntimeError('INVALID_INPUT', `input "${spec.name}": no 2D canvas here to read the image with; pass ImageData or a tensor`, spec.name)
  }
  // Resizing also clears it, so nothing of an earlier image shows through a transparent one.
  scratch.canvas.width = width
  scratch.canvas.height = height
  return scratch
}

function createContext2D(): Context2D | undefined {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(1, 1).getContext('2d', { willReadFrequently: true }) ?? undefined
  if (typeof document !== 'undefined') return document.createElement('canvas').getContext('2d', { willReadFrequently: true }) ?? undefined
  return undefined
}
