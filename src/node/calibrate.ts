// Calibration for full-integer int8 (`--quantize int8-full`): the float model
// runs on representative inputs in this process, LiteRT.js on a float
// .tflite that also outputs the minimum and maximum of every activation
// (`<tensor>:min`, `<tensor>:max`, reduced in the model), and each tensor's
// range is the widest over all samples. The core then writes the int8 file
// over those ranges, for exactly the tensors it measured.
import { readdirSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'

import { convert, type ConvertRequest } from '../native.js'
import type { TensorSpec } from '../runtime/types.js'
import { type Feed, type ImageOptions, InputMismatchError, readInput, readNpy } from './run-input.js'
import { loadTfliteBytes } from './run-model.js'

export type Ranges = Record<string, [number, number]>

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg'])

/** The ranges of every activation of `request`'s model over the samples in `source`. */
export async function calibrate(request: ConvertRequest, source: string, options: ImageOptions = {}): Promise<Ranges> {
  const float = await convert({ ...request, quantize: undefined, format: 'tflite', outputDir: undefined, calibrationOutputs: true })
  const model = await loadTfliteBytes('calibration', Buffer.from(float.files[0]!.data))
  try {
    const ranges = new Map<string, [number, number]>()
    let count = 0
    for (const record of samples(source, model.signature.inputs, options)) {
      const outputs = await model.run(record)
      for (const [name, tensor] of Object.entries(outputs)) {
        const bound = /^(.*):(min|max)$/.exec(name)
        if (!bound) continue // the model's own outputs
        const [lo, hi] = ranges.get(bound[1]!) ?? [Infinity, -Infinity]
        const value = (tensor.data as Float32Array)[0]!
        ranges.set(bound[1]!, bound[2] === 'min' ? [Math.min(lo, value), hi] : [lo, Math.max(hi, value)])
      }
      count++
    }
    if (count === 0) throw new InputMismatchError('SHAPE_MISMATCH', `calibration source ${source} holds no samples`, source)
    return Object.fromEntries(ranges)
  } finally {
    model.dispose()
  }
}

/** One record (a feed per input) per sample: the images of a folder, or the rows of an `.npy`. */
function* samples(source: string, inputs: readonly TensorSpec[], options: ImageOptions): Generator<Record<string, Feed>> {
  if (inputs.length !== 1) {
    throw new InputMismatchError('SHAPE_MISMATCH', `the model has ${inputs.length} inputs; a calibration ${source} feeds one`, source)
  }
  const input = inputs[0]!
  if (statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
    const images = readdirSync(source).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort()
    for (const image of images) yield { [input.name]: readInput(join(source, image), input, options) }
    return
  }
  if (extname(source).toLowerCase() !== '.npy') {
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `calibration source ${source} is neither a folder of PNG/JPEG images nor an .npy`, source)
  }
  // Samples run along the first axis, whatever batch size the model fixes.
  const batch = readNpy(source, { ...input, shape: input.shape ? [-1, ...input.shape.slice(1)] : null })
  const [rows, ...rest] = batch.shape
  const size = rest.reduce((a, b) => a * b, 1)
  for (let r = 0; r < rows!; r++) {
    yield { [input.name]: { data: batch.data.subarray(r * size, (r + 1) * size), shape: [1, ...rest] } }
  }
}
