// What `tfmodel run` feeds a model: an image (PNG or JPEG, decoded in pure
// JS) resized to the input's size and normalized as TensorFlow's label_image
// did, or an `.npy` fed as it is.
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'

import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'

import type { TensorSpec } from '../runtime/types.js'

/** label_image's `--input_mean` and `--input_std`: float pixels land in [0, 1]. */
export const LABEL_IMAGE_MEAN = 0
export const LABEL_IMAGE_STD = 255

export interface Feed {
  data: Float32Array | Int32Array
  shape: number[]
}

/** An input that cannot feed the model: a shape or dtype that does not fit, a file missing, unreadable or
 * undecodable, or a calibration module that threw; `code` as the core names these. */
export class InputMismatchError extends Error {
  readonly suggestions: string[] = []
  readonly outputsToName: string[] = []
  constructor(
    readonly code: 'SHAPE_MISMATCH' | 'DTYPE_MISMATCH' | 'UNSUPPORTED_FORMAT' | 'FILE_NOT_FOUND' | 'IO_ERROR' | 'CALIBRATION_FAILED',
    message: string,
    readonly file: string,
    readonly subject?: string,
  ) {
    super(message)
    this.name = 'InputMismatchError'
  }
}

/** `file`'s bytes; a file that is missing or cannot be read is a coded error naming it. */
export function readInputFile(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    if (code === 'ENOENT') throw new InputMismatchError('FILE_NOT_FOUND', `${file}: no such file or directory`, file)
    throw new InputMismatchError('IO_ERROR', `${file}: ${code === 'EISDIR' ? 'is a directory' : message}`, file)
  }
}

export interface ImageOptions {
  width?: number
  height?: number
  mean?: number
  std?: number
}

/** The feed for `spec` from an image or `.npy` file. */
export function readInput(file: string, spec: TensorSpec, options: ImageOptions): Feed {
  return extname(file).toLowerCase() === '.npy' ? readNpy(file, spec) : readImage(file, spec, options)
}

interface Pixels {
  width: number
  height: number
  /** RGBA, 4 bytes a pixel. */
  rgba: Uint8Array
}

function decode(file: string): Pixels {
  const bytes = readInputFile(file)
  const kind = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ? 'PNG' : bytes[0] === 0xff && bytes[1] === 0xd8 ? 'JPEG' : undefined
  if (!kind) throw new InputMismatchError('UNSUPPORTED_FORMAT', `${file} is neither PNG nor JPEG (nor an .npy)`, file)
  try {
    if (kind === 'PNG') {
      const png = PNG.sync.read(bytes)
      return { width: png.width, height: png.height, rgba: png.data }
    }
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true })
    return { width: image.width, height: image.height, rgba: image.data }
  } catch (error) {
    // The decoders' own words ("marker was not found") name no file.
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `${file} is a truncated or corrupt ${kind} (${(error as Error).message})`, file)
  }
}

function readImage(file: string, spec: TensorSpec, options: ImageOptions): Feed {
  const shape = spec.shape
  if (!shape || shape.length !== 4) {
    throw new InputMismatchError('SHAPE_MISMATCH', `input "${spec.name}" has shape ${shapeText(shape)}, not an image batch [batch, height, width, channels]; ${file} cannot feed it`, file, spec.name)
  }
  const channels = shape[3]!
  if (channels !== 3 && channels !== 1) {
    throw new InputMismatchError('SHAPE_MISMATCH', `input "${spec.name}" takes ${channels} channels; ${file} gives 3 (RGB) or 1 (grayscale)`, file, spec.name)
  }
  const isFloat = spec.dtype === 'float32' || spec.dtype === 'unknown'
  if (!isFloat && spec.dtype !== 'int32') {
    throw new InputMismatchError('DTYPE_MISMATCH', `input "${spec.name}" is ${spec.dtype}; an image feeds float or integer pixels`, file, spec.name)
  }
  if (!isFloat && (options.mean !== undefined || options.std !== undefined)) {
    throw new InputMismatchError('DTYPE_MISMATCH', `input "${spec.name}" takes integer pixels as they are: mean and std (--mean_value, --std_value) apply to float inputs`, file, spec.name)
  }
  const pixels = decode(file)
  const height = size('height', shape[1]!, options.height, pixels.height, file, spec.name)
  const width = size('width', shape[2]!, options.width, pixels.width, file, spec.name)
  const resized = resizeBilinear(pixels, width, height, channels)
  const shapeOut = [1, height, width, channels]
  if (!isFloat) return { data: Int32Array.from(resized, Math.round), shape: shapeOut }
  const mean = options.mean ?? LABEL_IMAGE_MEAN
  const std = options.std ?? LABEL_IMAGE_STD
  return { data: resized.map((v) => (v - mean) / std), shape: shapeOut }
}

/** The model's fixed dim, else the flag, else the image's own. */
function size(what: string, dim: number, flag: number | undefined, own: number, file: string, input: string): number {
  if (dim > 0 && flag !== undefined && flag !== dim) {
    throw new InputMismatchError('SHAPE_MISMATCH', `input "${input}" has a fixed ${what} of ${dim}; --input_${what} ${flag} does not fit it (for ${file})`, file, input)
  }
  return dim > 0 ? dim : (flag ?? own)
}

/**
 * tf.image.resize's bilinear (TensorFlow 2: half-pixel centers, no antialias):
 * output pixel i samples the source at (i + 0.5) * in / out - 0.5.
 */
function resizeBilinear({ width: inW, height: inH, rgba }: Pixels, outW: number, outH: number, channels: number): Float32Array {
  const axis = (inSize: number, outSize: number) =>
    Array.from({ length: outSize }, (_, i) => {
      const at = ((i + 0.5) * inSize) / outSize - 0.5
      const floor = Math.floor(at)
      return { lower: Math.max(floor, 0), upper: Math.min(Math.ceil(at), inSize - 1), lerp: at - floor }
    })
  const ys = axis(inH, outH)
  const xs = axis(inW, outW)
  const out = new Float32Array(outH * outW * channels)
  const rgb = new Float32Array(3)
  for (const [y, wy] of ys.entries()) {
    for (const [x, wx] of xs.entries()) {
      for (let c = 0; c < 3; c++) {
        const at = (row: number, col: number) => rgba[(row * inW + col) * 4 + c]!
        const top = at(wy.lower, wx.lower) + (at(wy.lower, wx.upper) - at(wy.lower, wx.lower)) * wx.lerp
        const bottom = at(wy.upper, wx.lower) + (at(wy.upper, wx.upper) - at(wy.upper, wx.lower)) * wx.lerp
        rgb[c] = top + (bottom - top) * wy.lerp
      }
      const o = (y * outW + x) * channels
      // tf.image.rgb_to_grayscale's weights.
      if (channels === 1) out[o] = 0.2989 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!
      else out.set(rgb, o)
    }
  }
  return out
}

const NPY_DTYPES: Record<string, { read: (view: DataView, at: number) => number; bytes: number; float: boolean }> = {
  '<f4': { read: (v, at) => v.getFloat32(at, true), bytes: 4, float: true },
  '<f8': { read: (v, at) => v.getFloat64(at, true), bytes: 8, float: true },
  '<i4': { read: (v, at) => v.getInt32(at, true), bytes: 4, float: false },
  '<i8': { read: (v, at) => Number(v.getBigInt64(at, true)), bytes: 8, float: false },
  '|u1': { read: (v, at) => v.getUint8(at), bytes: 1, float: false },
}

/** A C-order `.npy` (format 1.0–3.0), checked against the input's shape and dtype. */
export function readNpy(file: string, spec: TensorSpec): Feed {
  return parseNpy(readInputFile(file), file, spec)
}

/** The bytes of an `.npy` (`file` names it in errors: a file, or an array in an `.npz`). */
export function parseNpy(bytes: Buffer, file: string, spec: TensorSpec): Feed {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new InputMismatchError('UNSUPPORTED_FORMAT', `${file} is not an .npy file`, file)
  const major = bytes[6]!
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const start = major === 1 ? 10 : 12
  const header = bytes.subarray(start, start + headerLength).toString('latin1')
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1]
  const shapeText_ = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1]
  const dtype = descr ? NPY_DTYPES[descr] : undefined
  if (!dtype || shapeText_ === undefined || /'fortran_order':\s*True/.test(header)) {
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `${file}: only C-order .npy of ${Object.keys(NPY_DTYPES).join(', ')} is read (header ${header.trim()})`, file)
  }
  const shape = shapeText_.split(',').filter((d) => d.trim()).map(Number)
  const expected = spec.shape
  if (expected && (expected.length !== shape.length || expected.some((d, i) => d > 0 && d !== shape[i]))) {
    throw new InputMismatchError('SHAPE_MISMATCH', `input "${spec.name}" has shape ${shapeText(expected)}; ${file} holds ${shapeText(shape)}`, file, spec.name)
  }
  const isFloat = spec.dtype === 'float32' || spec.dtype === 'unknown'
  if (dtype.float !== isFloat) {
    throw new InputMismatchError('DTYPE_MISMATCH', `input "${spec.name}" is ${spec.dtype}; ${file} holds ${descr}`, file, spec.name)
  }
  const count = shape.reduce((a, b) => a * b, 1)
  const data = isFloat ? new Float32Array(count) : new Int32Array(count)
  const body = start + headerLength
  if (bytes.byteLength < body + count * dtype.bytes) throw new InputMismatchError('SHAPE_MISMATCH', `${file} is truncated: ${shapeText(shape)} needs ${count * dtype.bytes} bytes of data`, file)
  for (let i = 0; i < count; i++) data[i] = dtype.read(view, body + i * dtype.bytes)
  return { data, shape }
}

function shapeText(shape: readonly number[] | null): string {
  return shape ? `[${shape.join(',')}]` : 'of unknown rank'
}
