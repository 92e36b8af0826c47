// Decodes tensor bytes as the core returns them (little-endian, row-major)
// and prints them the way numpy prints arrays.

export type Element = number | bigint | boolean | string | [number, number]

export function decodeElements(dtype: string, data: Uint8Array | undefined, strings?: Uint8Array[]): Element[] {
  if (dtype === 'string') return (strings ?? []).map((s) => printableBytes(s))
  if (!data) return []
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const read = (size: number, get: (offset: number) => Element): Element[] => {
    const out: Element[] = []
    for (let offset = 0; offset + size <= data.byteLength; offset += size) out.push(get(offset))
    return out
  }
  switch (dtype) {
    case 'float32':
      return read(4, (o) => view.getFloat32(o, true))
    case 'float64':
      return read(8, (o) => view.getFloat64(o, true))
    case 'float16':
      return read(2, (o) => halfToFloat(view.getUint16(o, true)))
    case 'bfloat16':
      return read(2, (o) => bfloat16ToFloat(view.getUint16(o, true)))
    case 'int8':
      return read(1, (o) => view.getInt8(o))
    case 'uint8':
      return read(1, (o) => view.getUint8(o))
    case 'int16':
      return read(2, (o) => view.getInt16(o, true))
    case 'uint16':
      return read(2, (o) => view.getUint16(o, true))
    case 'int32':
      return read(4, (o) => view.getInt32(o, true))
    case 'uint32':
      return read(4, (o) => view.getUint32(o, true))
    case 'int64':
      return read(8, (o) => view.getBigInt64(o, true))
    case 'uint64':
      return read(8, (o) => view.getBigUint64(o, true))
    case 'bool':
      return read(1, (o) => view.getUint8(o) !== 0)
    case 'complex64':
      return read(8, (o) => [view.getFloat32(o, true), view.getFloat32(o + 4, true)])
    case 'complex128':
      return read(16, (o) => [view.getFloat64(o, true), view.getFloat64(o + 8, true)])
    default:
      return read(1, (o) => view.getUint8(o))
  }
}

export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}

export function bfloat16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4))
  view.setUint32(0, bits << 16)
  return view.getFloat32(0)
}

/** Python's `b'...'` repr of a byte string. */
function printableBytes(bytes: Uint8Array): string {
  let out = "b'"
  for (const byte of bytes) {
    if (byte === 0x27) out += "\\'"
    else if (byte === 0x5c) out += '\\\\'
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte)
    else if (byte === 0x0a) out += '\\n'
    else out += `\\x${byte.toString(16).padStart(2, '0')}`
  }
  return `${out}'`
}

function formatElement(value: Element): string {
  if (Array.isArray(value)) return `${formatNumber(value[0])}${value[1] < 0 || Object.is(value[1], -0) ? '-' : '+'}${formatNumber(Math.abs(value[1]))}j`
  if (typeof value === 'number') return formatNumber(value)
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  return String(value)
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan'
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf'
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return Object.is(value, -0) ? '-0.' : `${value}.`
  const fixed = value.toPrecision(8)
  return fixed.includes('e') ? fixed : fixed.replace(/0+$/, '')
}

/** numpy-like nested brackets; long axes are summarised as `first ... last`. */
export function formatTensor(dtype: string, shape: number[], elements: Element[], edgeItems = 3, threshold = 1000): string {
  // numpy prints floats with a decimal point ("1.") and integers without.
  const isFloat = /^(float|bfloat|complex)/.test(dtype)
  const cell = (value: Element): string => (!isFloat && (typeof value === 'number' || typeof value === 'bigint') ? String(value) : formatElement(value))
  if (shape.length === 0) return elements.length > 0 ? cell(elements[0]!) : '[]'
  const summarise = elements.length > threshold
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1))
  const render = (axis: number, offset: number, indent: string): string => {
    const size = shape[axis]!
    const indices =
      summarise && size > 2 * edgeItems
        ? [...Array.from({ length: edgeItems }, (_, i) => i), -1, ...Array.from({ length: edgeItems }, (_, i) => size - edgeItems + i)]
        : Array.from({ length: size }, (_, i) => i)
    if (axis === shape.length - 1) {
      return `[${indices.map((i) => (i < 0 ? '...' : cell(elements[offset + i]!))).join(' ')}]`
    }
    const separator = '\n'.repeat(shape.length - axis - 1) + indent + ' '
    return `[${indices.map((i) => (i < 0 ? '...' : render(axis + 1, offset + i * strides[axis]!, indent + ' '))).join(separator)}]`
  }
  return render(0, 0, '')
}
