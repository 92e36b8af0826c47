// `tfmodel quantize`: TensorFlow's `quantize_graph` weight quantization, as a
// TensorFlow-loadable frozen graph (`--format pb`, the default), a TF.js model
// or a .tflite (dynamic-range int8 or float16, in TFLite's own terms).
import { convert, defaults, quantizeGraph } from '../native.js'
import { UsageError, wholeNumber } from './args.js'
import { defineCommand } from './command.js'
import { conversionLines, quantizationLines } from './report.js'

export const quantizeSummary = 'Quantizes the weights of a frozen graph to 8 bits (or float16).'

export const runQuantize = defineCommand({
  usage: 'quantize [flags]',
  summary: quantizeSummary,
  flags: [
    { name: 'input', kind: 'string', help: 'frozen GraphDef' },
    { name: 'output', kind: 'string', help: 'output GraphDef (--format pb) or directory (--format tfjs, tflite)' },
    { name: 'output_node_names', kind: 'list', help: 'output node names (needed for --format tfjs and tflite)' },
    { name: 'mode', kind: 'string', help: 'eightbit (= uint8), float16 or int8 (default: eightbit; int8 for --format tflite)' },
    { name: 'format', kind: 'string', help: 'pb (a graph with Dequantize nodes), tfjs or tflite', default: 'pb' },
    { name: 'minimum_size', kind: 'string', help: `tensors with fewer elements stay float (default: ${defaults().quantizeMinimumSize})` },
  ],
  args: [],
  async run({ flags }, out) {
    const { input, output, format } = flags
    if (!input || !output) throw new UsageError('--input and --output are required')
    // uint8 is TF.js's encoding; TFLite's 8-bit form is int8.
    const mode = flags.mode ?? (format === 'tflite' ? 'int8' : 'eightbit')
    const minimumSize = wholeNumber('minimum_size', flags.minimum_size)
    if (format === 'pb') {
      for (const line of quantizationLines(await quantizeGraph(input, output, mode, minimumSize))) out(line)
      out(`wrote ${output}`)
      return 0
    }
    if (format !== 'tfjs' && format !== 'tflite') throw new UsageError(`--format takes pb, tfjs or tflite, not "${format}"`)
    const result = await convert({
      source: input,
      outputNodeNames: flags.output_node_names,
      quantize: mode === 'eightbit' ? 'uint8' : mode,
      quantizeMinimumSize: minimumSize,
      format,
      outputDir: output,
    })
    for (const line of conversionLines(result)) out(line)
    out(`wrote ${output}`)
    return 0
  },
})
