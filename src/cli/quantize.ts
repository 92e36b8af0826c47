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

/** quantize_graph's fixed ranges for inputs and for ops it could not measure. */
const RANGE_FLAGS = ['quantized_input_min', 'quantized_input_max', 'quantized_fallback_min', 'quantized_fallback_max'] as const

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
    // quantize_graph's own flags, as far as they mean something here.
    { name: 'bitdepth', kind: 'string', help: 'bits per quantized value: 8, the only depth its kernels and TF.js take (as quantize_graph)' },
    { name: 'strip_redundant_quantization', kind: 'boolean', help: 'eightbit: drop Dequantize -> QuantizeV2 pairs (always done)' },
    { name: 'print_nodes', kind: 'boolean', help: '(accepted for compatibility; the quantized ops are counted in the report)' },
    { name: 'quantized_input', kind: 'boolean', help: '(refused: the graph takes float inputs, quantized by QuantizeV2)' },
    ...RANGE_FLAGS.map((name) => ({ name, kind: 'string' as const, help: '(refused: eightbit measures every range as it runs, with RequantizationRange)' })),
  ],
  ignoredFlags: ['test_input_dims'],
  args: [],
  async run({ flags }, out) {
    const { input, output, format } = flags
    if (!input || !output) throw new UsageError('--input and --output are required')
    // uint8 is TF.js's encoding; TFLite's 8-bit form is int8.
    const mode = flags.mode ?? (format === 'tflite' ? 'int8' : 'weights')
    const minimumSize = wholeNumber('minimum_size', flags.minimum_size)
    if (flags.bitdepth !== undefined && flags.bitdepth !== '8') throw new UsageError(`--bitdepth takes 8 only, not "${flags.bitdepth}"`)
    if (flags.strip_redundant_quantization === false) throw new UsageError('--nostrip_redundant_quantization: redundant Dequantize -> QuantizeV2 pairs are always removed')
    if (flags.quantized_input) throw new UsageError('--quantized_input is not supported: the graph takes float inputs and quantizes them with QuantizeV2')
    const range = RANGE_FLAGS.find((name) => flags[name] !== undefined)
    if (range) throw new UsageError(`--${range} is not supported: eightbit measures each range as the graph runs (RequantizationRange), and takes no fixed ones`)
    if (format === 'pb') {
      if (flags.calibration) throw new UsageError('--calibration is for --format tflite --mode int8-full')
      const report = await quantizeGraph(input, output, mode, minimumSize, flags.output_node_names)
      // weights_rounded stores float32 weights on the 8-bit levels: named as such, and no smaller.
      const shown = mode === 'weights_rounded' ? { ...report, mode, bytesAfter: report.bytesBefore } : report
      for (const line of quantizationLines(shown)) out(line)
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
