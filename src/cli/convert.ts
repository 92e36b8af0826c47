// `tfmodel convert`: the whole pipeline (read, freeze, optimize, quantize,
// emit) in one command — what freeze_graph, optimize_for_inference and
// tensorflowjs_converter do in turn.
import { convert, type ConvertRequest, defaults } from '../native.js'
import { savedModelTagsFlag, wholeNumber } from './args.js'
import { calibrationFlags, withCalibration } from './calibration.js'
import { defineCommand } from './command.js'
import { placeholderFlags, typeEnums } from './optimize.js'
import { conversionLines } from './report.js'

export const convertSummary = 'Converts a checkpoint, training directory, graph or SavedModel into a TF.js graph model, a .tflite or a frozen .pb.'

export const runConvert = defineCommand({
  usage: 'convert <source> <outdir> [flags]',
  summary: convertSummary,
  flags: [
    { name: 'quantize', kind: 'string', help: 'uint8, float16 or int8 weights; int8-full (with --format tflite and --calibration) for int8 activations too (default: float32)' },
    ...calibrationFlags,
    { name: 'output_node_names', kind: 'list', help: 'output node names (default: the signature, else the prediction heads)' },
    { name: 'input_names', kind: 'list', help: 'input node names (default: the placeholders the outputs need)' },
    ...placeholderFlags,
    { name: 'use_ema', kind: 'boolean', help: 'freeze with the ExponentialMovingAverage shadow variables' },
    { name: 'input_graph', kind: 'string', help: 'GraphDef to pair with a checkpoint saved without a .meta, or the SavedModel of an object-based checkpoint' },
    { name: 'signature_name', kind: 'string', help: `the SavedModel signature to convert (default: ${defaults().signatureName})` },
    savedModelTagsFlag,
    { name: 'format', kind: 'string', help: 'tfjs (model.json + shards), tflite (model.tflite) or pb (frozen GraphDef)', default: 'tfjs' },
    { name: 'shard_size', kind: 'string', help: `bytes per weight shard (default: ${defaults().shardSize})` },
    { name: 'op_check', kind: 'string', help: 'error, warn or off: ops TF.js cannot run', default: 'error' },
    { name: 'minimum_size', kind: 'string', help: `tensors with fewer elements stay float (default: ${defaults().quantizeMinimumSize})` },
    { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  ],
  args: ['source', 'outdir'],
  argsError: 'convert takes a source and an output directory: tfmodel convert <source> <outdir>',
  async run({ flags, args: { source, outdir } }, out) {
    const request: ConvertRequest = {
      source,
      inputGraph: flags.input_graph,
      signatureName: flags.signature_name,
      savedModelTags: flags.saved_model_tags,
      outputNodeNames: flags.output_node_names,
      inputNames: flags.input_names,
      quantize: flags.quantize,
      quantizeMinimumSize: wholeNumber('minimum_size', flags.minimum_size),
      format: flags.format,
      shardSize: wholeNumber('shard_size', flags.shard_size),
      opCheck: flags.op_check,
      outputDir: outdir,
      placeholderTypeEnum: typeEnums(flags.placeholder_type_enum),
      placeholderToConstNames: flags.placeholder_to_const_names,
      useEma: flags.use_ema,
    }
    const result = await convert(await withCalibration(request, flags))
    if (flags.json) {
      const { files: _held, written, ...rest } = result
      out(JSON.stringify({ ...rest, files: written }, null, 2))
      return 0
    }
    for (const line of conversionLines(result)) out(line)
    out(`wrote ${result.written.map((f) => f.name).join(', ')} to ${outdir}`)
    return 0
  },
})

