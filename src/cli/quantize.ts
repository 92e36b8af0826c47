// `tfmodel quantize`: TensorFlow's `quantize_graph`. As a frozen graph
// TensorFlow runs (`--format pb`, the default), its modes mean what they
// meant there: `eightbit` computes with TensorFlow's quantized kernels,
// `weights` stores uint8 weights decoded by Dequantize nodes, `weights_rounded`
// keeps float32 weights rounded to 8 bits. As a TF.js model or a .tflite it
// quantizes the weights (uint8 = `weights`, float16, or TFLite's int8).
import { convert, defaults, quantizeGraph } from '../native.js'
import { UsageError, wholeNumber } from './args.js'
import { defineCommand } from './command.js'
import { calibrationFlags, withCalibration } from './calibration.js'
import { conversionLines, quantizationLines } from './report.js'

export const quantizeSummary = 'Quantizes a frozen graph to 8 bits: its ops (eightbit) or its weights.'

export const runQuantize = defineCommand({
  usage: 'quantize [flags]',
  summary: quantizeSummary,
  flags: [
    { name: 'input', kind: 'string', help: 'frozen GraphDef' },
    { name: 'output', kind: 'string', help: 'output GraphDef (--format pb) or directory (--format tfjs, tflite)' },
    { name: 'output_node_names', kind: 'list', help: 'output node names (needed for --format tfjs and tflite; what an eightbit graph keeps)' },
    {
      name: 'mode',
      kind: 'string',
      help: 'pb: eightbit, weights, weights_rounded, float16 or int8 (default weights); tfjs: weights (= uint8), float16 or int8; tflite: int8 (default), float16 or int8-full (with --calibration)',
    },
    ...calibrationFlags,
    { name: 'format', kind: 'string', help: 'pb (a graph TensorFlow runs), tfjs or tflite', default: 'pb' },
    { name: 'minimum_size', kind: 'string', help: `weights with fewer elements stay float (default: ${defaults().quantizeMinimumSize}; eightbit quantizes every operand)` },
  ],
  args: [],
  async run({ flags }, out) {
    const { input, output, format } = flags
    if (!input || !output) throw new UsageError('--input and --output are required')
    // uint8 is TF.js's encoding; TFLite's 8-bit form is int8.
    const mode = flags.mode ?? (format === 'tflite' ? 'int8' : 'weights')
    const minimumSize = wholeNumber('minimum_size', flags.minimum_size)
    if (format === 'pb') {
      if (flags.calibration) throw new UsageError('--calibration is for --format tflite --mode int8-full')
      const report = await quantizeGraph(input, output, mode, minimumSize, flags.output_node_names)
      for (const line of quantizationLines(report)) out(line)
      out(`wrote ${output}`)
      return 0
    }
    if (format !== 'tfjs' && format !== 'tflite') throw new UsageError(`--format takes pb, tfjs or tflite, not "${format}"`)
    const request = { source: input, outputNodeNames: flags.output_node_names, quantize: mode, quantizeMinimumSize: minimumSize, format, outputDir: output }
    const result = await convert(await withCalibration(request, flags))
    for (const line of conversionLines(result)) out(line)
    out(`wrote ${output}`)
    return 0
  },
})
