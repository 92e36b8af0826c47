// `tfmodel run`: what TensorFlow's label_image did — one image through a
// model, the top-k scores of one output printed with their labels.
import { hasPixelFlags, number, pixelFlags, UsageError } from './args.js'
import { defineCommand } from './command.js'
import type { NodeBackend } from '../node/index.js'

export const runSummary = 'Runs a model on an image (PNG, JPEG) or .npy in this process and prints the top-k scores with their labels.'

/** label_image printed the top 5. */
const TOP_K = 5

export const runRun = defineCommand({
  usage: 'run <model> --image <file> [flags]',
  summary: runSummary,
  flags: [
    { name: 'image', kind: 'string', help: 'the input: a PNG or JPEG, resized and normalized, or an .npy fed as it is' },
    { name: 'input_layer_name', kind: 'string', help: 'the input to feed (default: the only one)' },
    { name: 'output_layer_name', kind: 'string', help: 'the output to rank (default: the only one)' },
    { name: 'input_width', kind: 'string', help: "width to resize to, where the model's input leaves it open (default: the image's)" },
    { name: 'input_height', kind: 'string', help: "height to resize to, where the model's input leaves it open (default: the image's)" },
    { name: 'mean_value', kind: 'string', help: 'subtracted from each pixel of a float input (default: 0, as label_image)' },
    { name: 'std_value', kind: 'string', help: 'each pixel of a float input is divided by it (default: 255, as label_image)' },
    { name: 'labels', kind: 'string', help: 'a text file with one label per line, line i naming index i' },
    { name: 'top_k', kind: 'string', help: `how many scores to print (default: ${TOP_K})` },
    { name: 'backend', kind: 'string', help: 'cpu or wasm: the TF.js backend (a .tflite runs on LiteRT.js)', default: 'cpu' },
    { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  ],
  args: ['model'],
  argsError: 'run takes one model: tfmodel run <model> --image <file>',
  async run({ flags, args: { model: path } }, out) {
    if (!flags.image) throw new UsageError('run needs an input: --image <png|jpeg|npy>')
    if (flags.backend !== 'cpu' && flags.backend !== 'wasm') throw new UsageError(`--backend takes cpu or wasm, not "${flags.backend}"`)
    const topK = count('top_k', flags.top_k) ?? TOP_K
    const pixels = pixelFlags(flags)
    if (hasPixelFlags(flags) && flags.image.toLowerCase().endsWith('.npy')) throw new UsageError(`--mean_value and --std_value apply to images; ${flags.image} is fed as it is`)

    // Loaded on use (and kept in dist/node/, where it finds TF.js's and LiteRT.js's files).
    const { loadForRun, readInput, readInputFile } = await import('../node/index.js')
    const labels = flags.labels ? readInputFile(flags.labels).toString('utf8').split(/\r?\n/) : undefined
    const model = await loadForRun(path, flags.backend as NodeBackend, flags.output_layer_name ? [flags.output_layer_name] : undefined)
    try {
      const input = pick('input', model.signature.inputs, flags.input_layer_name, '--input_layer_name')
      const output = pick('output', model.signature.outputs, flags.output_layer_name, '--output_layer_name')
      const feed = readInput(flags.image, input, {
        width: count('input_width', flags.input_width),
        height: count('input_height', flags.input_height),
        ...pixels,
      })
      const outputs = await model.run({ [input.name]: feed })
      const tensor = outputs[output.name]!
      // Batch item 0: one image in, its scores out.
      const perItem = tensor.shape.length > 1 ? tensor.shape.slice(1).reduce((a, b) => a * b, 1) : tensor.data.length
      const scores = Array.from(tensor.data.subarray(0, perItem) as ArrayLike<number>)
      const top = scores
        .map((score, index) => ({ index, label: labels?.[index] || undefined, score }))
        .sort((a, b) => b.score - a.score || a.index - b.index)
        .slice(0, topK)
      if (flags.json) {
        out(JSON.stringify({ model: path, image: flags.image, input: input.name, output: output.name, top }, null, 2))
        return 0
      }
      // label_image's C++ line: `label (index): score`.
      for (const t of top) out(`${t.label ?? t.index} (${t.index}): ${t.score}`)
      return 0
    } finally {
      model.dispose()
    }
  },
})

function pick<T extends { name: string }>(side: string, specs: readonly T[], name: string | undefined, flag: string): T {
  const names = specs.map((s) => s.name).join(', ')
  if (name === undefined) {
    if (specs.length === 1) return specs[0]!
    throw new UsageError(`the model has ${specs.length} ${side}s (${names}): choose one with ${flag}`)
  }
  const spec = specs.find((s) => s.name === name)
  if (!spec) throw new UsageError(`the model has no ${side} "${name}" (${side}s: ${names})`)
  return spec
}

function count(flag: string, value: string | undefined): number | undefined {
  const parsed = number(flag, value)
  if (parsed !== undefined && !(Number.isInteger(parsed) && parsed > 0)) throw new UsageError(`--${flag} takes a whole number above 0, not "${value}"`)
  return parsed
}
