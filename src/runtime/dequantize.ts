// int8 weights are symmetric per output channel (scale = max|w| / 127), a
// scheme TF.js cannot decode: they are turned back into float32 here, before
// TF.js sees the manifest. uint8 and float16 weights TF.js decodes itself.

import { TfModelRuntimeError } from './errors.js'

export interface WeightSpec {
  name: string
  shape: number[]
  dtype: string
  quantization?: {
    dtype: string
    min?: number
    scale?: number
    /** int8: one scale per channel along `axis`. */
    scales?: number[]
    axis?: number
    original_dtype?: string
  }
}

/** Bytes one weight occupies in the shards. */
export function storedBytes(spec: WeightSpec): number | undefined {
  const elements = spec.shape.reduce((a, b) => a * b, 1)
  const perElement: Record<string, number> = { uint8: 1, int8: 1, uint16: 2, float16: 2 }
  const quantized = spec.quantization?.dtype
  if (quantized) return elements * (perElement[quantized] ?? 4)
  if (spec.dtype === 'bool') return elements
  if (spec.dtype === 'complex64') return elements * 8
  if (spec.dtype === 'string') return undefined
  return elements * 4
}

/**
 * Rewrites int8-quantized weights as float32, returning the new specs and
 * weight bytes; other weights are copied unchanged.
 */
export function dequantizeInt8(specs: WeightSpec[], data: ArrayBuffer): { specs: WeightSpec[]; data: ArrayBuffer } {
  if (!specs.some((s) => s.quantization?.dtype === 'int8')) return { specs, data }
  const input = new Uint8Array(data)
  const parts: Uint8Array[] = []
  const outSpecs: WeightSpec[] = []
  let offset = 0
  for (const spec of specs) {
    const size = storedBytes(spec) ?? stringBytes(input, offset, spec)
    const bytes = input.subarray(offset, offset + size)
    offset += size
    if (spec.quantization?.dtype !== 'int8') {
      parts.push(bytes)
      outSpecs.push(spec)
      continue
    }
    parts.push(new Uint8Array(int8ToFloat32(spec, bytes).buffer))
    outSpecs.push({ name: spec.name, shape: spec.shape, dtype: 'float32' })
  }
  const total = parts.reduce((sum, p) => sum + p.byteLength, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return { specs: outSpecs, data: out.buffer }
}

function int8ToFloat32(spec: WeightSpec, bytes: Uint8Array): Float32Array {
  const scales = spec.quantization?.scales ?? []
  const axis = spec.quantization?.axis ?? spec.shape.length - 1
  const values = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const channels = scales.length
  const outer = spec.shape.slice(0, axis).reduce((a, b) => a * b, 1)
  // Elements of one channel repeat every `stride` positions (1 when the
  // channel axis, or flattened channel axes, come last).
  const stride = values.length / (outer * channels)
  if (channels === 0 || !Number.isInteger(stride) || axis < 0 || axis >= Math.max(spec.shape.length, 1)) {
    throw new TfModelRuntimeError(
      'INTEGRITY_ERROR',
      `weight "${spec.name}" has ${channels} int8 scales along axis ${axis}, which do not fit its shape [${spec.shape.join(', ')}]`,
      spec.name,
    )
  }
  const out = new Float32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const channel = Math.floor(i / stride) % channels
    out[i] = values[i]! * scales[channel]!
  }
  return out
}

function stringBytes(bytes: Uint8Array, offset: number, spec: WeightSpec): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  const count = spec.shape.reduce((a, b) => a * b, 1)
  let at = offset
  for (let i = 0; i < count; i++) at += 4 + view.getUint32(at, true)
  return at - offset
}
