// The `tfmodel` command end to end, as a user runs it.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { readTensor } from '../src/native.js'
import { copyFixture, fixture, type JsonTensor, readJson, root, tensorBytes } from './fixtures.js'
import { decodeGraphDef } from './graph-proto.js'

function tfmodel(...args: string[]) {
  const result = spawnSync('node', [join(root, 'bin', 'tfmodel.js'), ...args], { encoding: 'utf8' })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('tfmodel inspect', () => {
  it('lists name, dtype, shape and bytes of every tensor', () => {
    const spec = fixture('convnet')
    const expected = readJson<{ tensors: Record<string, JsonTensor> }>(spec.path(spec.tensors!)).tensors
    const { code, stdout } = tfmodel('inspect', spec.path(spec.checkpoint!))
    expect(code).toBe(0)
    const rows = stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    expect(rows.map((l) => l.split(/\s+/)[0]).sort()).toEqual(Object.keys(expected).sort())
    let total = 0
    for (const [name, tensor] of Object.entries(expected)) {
      const line = rows.find((l) => l.split(/\s+/)[0] === name)!
      const bytes = tensorBytes(tensor).length
      total += bytes
      expect(line.split(/\s+/).slice(1), name).toEqual([tensor.dtype, `[${tensor.shape.join(',')}]`, `${bytes}`, 'B'])
    }
    expect(stdout).toContain(`# ${rows.length} tensors, ${total} bytes, in ${spec.path(spec.checkpoint!)}`)
  })

  it('says which checkpoint of a training directory it read and the outputs a conversion would infer', () => {
    const dir = join(root, 'fixtures', 'training', 'tfdata_fed', 'train')
    const { code, stdout } = tfmodel('inspect', dir)
    expect(code).toBe(0)
    expect(stdout).toContain(`in ${join(dir, 'model.ckpt-60')}`)
    expect(stdout).toContain('#   probs (Softmax): nothing reads it')
    expect(stdout).toMatch(/set aside: IteratorGetNext:1 \(a label[^)]*\); loss \(the loss/)
  })

  it('prints a tensor value with --tensor_name', () => {
    const spec = fixture('dtypes')
    const { code, stdout } = tfmodel('inspect', '--file_name', spec.path(spec.checkpoint!), '--tensor_name=int8')
    expect(code).toBe(0)
    const expected = [...new Int8Array(tensorBytes(readJson<{ tensors: Record<string, JsonTensor> }>(spec.path(spec.tensors!)).tensors.int8!))]
    expect(stdout).toContain('tensor_name:  int8')
    const printed = stdout.replace(/^tensor_name:.*\n/, '').match(/-?\d+/g)!.map(Number)
    expect(printed).toEqual(expected)
  })

  it('fails with a code, the file, and a non-zero exit', () => {
    const { code, stderr } = tfmodel('inspect', join(root, 'fixtures', 'no-such.ckpt'))
    expect(code).toBe(1)
    expect(stderr).toContain('FILE_NOT_FOUND')
    expect(stderr).toContain('no-such.ckpt')
  })
})

describe('tfmodel freeze', () => {
  it('without output names prints each inferred output with why, and the input pipeline it replaced', () => {
    const dir = copyFixture('training/tfdata_fed')
    const { code, stdout, stderr } = tfmodel('freeze', '--input_checkpoint', join(dir, 'train'), '--output_graph', join(dir, 'frozen.pb'))
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain(`checkpoint: ${join(dir, 'train', 'model.ckpt-60')}`)
    expect(stdout).toContain('  probs (Softmax): nothing reads it')
    expect(stdout).toContain('input pipeline IteratorGetNext:0 (IteratorGetNext) became placeholder IteratorGetNext (float32 [?, 8])')
    const graph = decodeGraphDef(readFileSync(join(dir, 'frozen.pb')))
    expect(graph.node.find((n) => n.name === 'IteratorGetNext')?.op).toBe('Placeholder')
    expect(graph.node.some((n) => /Dataset|Iterator$/.test(n.op))).toBe(false)
  })

  it('--use_ema freezes the moving averages: each variable becomes its shadow\'s value', async () => {
    const dir = copyFixture('training/ema')
    const freezeTo = (output: string, ...flags: string[]) => {
      const { code, stderr } = tfmodel('freeze', '--input_checkpoint', join(dir, 'train'), '--output_graph', join(dir, output), ...flags)
      expect(stderr).toBe('')
      expect(code).toBe(0)
      return new Map(decodeGraphDef(readFileSync(join(dir, output))).node.filter((n) => n.op === 'Const').map((n) => [n.name, n]))
    }
    const ema = freezeTo('ema.pb', '--use_ema')
    const raw = freezeTo('raw.pb')
    const variables = ['fc1/weights', 'fc1/biases', 'fc2/weights', 'fc2/biases']
    for (const name of variables) {
      const shadow = await readTensor(join(dir, 'train'), `${name}/ExponentialMovingAverage`)
      const weights = await readTensor(join(dir, 'train'), name)
      const content = (graph: typeof ema) => Buffer.from(graph.get(name)?.attr.value?.tensor?.tensorContent ?? [])
      expect(Buffer.compare(content(ema), Buffer.from(shadow.data!)), name).toBe(0)
      expect(Buffer.compare(content(raw), Buffer.from(weights.data!)), name).toBe(0)
      expect(Buffer.compare(content(ema), content(raw)), `${name}: the shadow differs from the weights`).not.toBe(0)
    }
  })

  it("takes freeze_graph's flags and writes a graph with constants for the checkpoint's values", () => {
    const spec = fixture('graph_pair')
    const dir = copyFixture('graph_pair')
    const output = join(dir, 'frozen.pb')
    const { code, stdout, stderr } = tfmodel(
      'freeze',
      `--input_graph=${spec.path(spec.graph!)}`,
      '--input_binary=true',
      `--input_checkpoint=${spec.path(spec.checkpoint!)}`,
      `--output_graph=${output}`,
      `--output_node_names=${spec.output_node_names.join(',')}`,
    )
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toMatch(/Converted \d+ variables to const ops/)
    const graph = decodeGraphDef(readFileSync(output))
    const names = graph.node.map((n) => n.name)
    for (const out of spec.output_node_names) expect(names).toContain(out)
    expect(graph.node.filter((n) => /^(VariableV2|VarHandleOp|Assign|SaveV2|RestoreV2)$/.test(n.op))).toEqual([])
    expect(graph.node.every((n) => n.device === '' || n.device === undefined)).toBe(true)
    const values = readJson<{ tensors: Record<string, JsonTensor> }>(spec.path(spec.tensors!)).tensors
    const frozenVariables = graph.node.filter((n) => n.op === 'Const' && values[n.name])
    expect(frozenVariables.length).toBeGreaterThan(0)
    for (const node of frozenVariables) {
      const content = Buffer.from(node.attr.value!.tensor!.tensorContent!)
      expect(Buffer.compare(content, tensorBytes(values[node.name]!)), node.name).toBe(0)
    }
  })

  it('accepts a training directory as --input_checkpoint and kebab-case flags', () => {
    const spec = fixture('train_dir')
    const dir = copyFixture('train_dir')
    const output = join(dir, 'frozen.pb')
    const { code } = tfmodel(
      'freeze',
      '--input-checkpoint',
      spec.dir,
      '--output-graph',
      output,
      '--output-node-names',
      spec.output_node_names.join(','),
    )
    expect(code).toBe(0)
    const values = readJson<{ tensors: Record<string, JsonTensor> }>(spec.path(spec.tensors!)).tensors
    const graph = decodeGraphDef(readFileSync(output))
    const constant = graph.node.find((n) => n.op === 'Const' && values[n.name])!
    expect(Buffer.compare(Buffer.from(constant.attr.value!.tensor!.tensorContent!), tensorBytes(values[constant.name]!))).toBe(0)
  })

  it('fails on an unknown output name: exit 1, the suggestion on stderr, no output file', () => {
    const spec = fixture('graph_pair')
    const dir = copyFixture('graph_pair')
    const output = join(dir, 'frozen.pb')
    const { code, stderr } = tfmodel(
      'freeze',
      '--input_graph',
      spec.path(spec.graph!),
      '--input_checkpoint',
      spec.path(spec.checkpoint!),
      '--output_graph',
      output,
      '--output_node_names',
      'model/y_pre',
    )
    expect(code).toBe(1)
    expect(stderr).toContain('UNKNOWN_NODE')
    expect(stderr).toContain('"model/y_pred"')
    expect(existsSync(output)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.includes('frozen.pb'))).toEqual([])
  })

  it('rejects an unknown flag with exit 2 and a hint', () => {
    const { code, stderr } = tfmodel('freeze', '--output_nodes_names=x', '--output_graph=x.pb')
    expect(code).toBe(2)
    expect(stderr.trim()).toBe('tfmodel freeze: unknown flag --output_nodes_names (did you mean --output_node_names?)')
  })
})

describe('tfmodel quantize', () => {
  // TensorFlow runs these graphs in the parity suite; here, what the command writes and says.
  it('--mode eightbit writes TensorFlow\'s quantized kernels and says which', () => {
    const spec = fixture('convnet')
    const output = join(copyFixture('convnet'), 'eightbit.pb')
    const { code, stdout, stderr } = tfmodel('quantize', `--input=${spec.path(spec.frozen!)}`, `--output=${output}`, '--mode=eightbit', '--output_node_names=probs,logits')
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^eightbit: weights /)
    expect(stdout).toMatch(/quantized ops: .*QuantizedConv2D 2/)
    const ops = decodeGraphDef(readFileSync(output)).node.map((n) => n.op)
    for (const op of ['QuantizeV2', 'QuantizedConv2D', 'QuantizedMatMul', 'QuantizedRelu6', 'Requantize', 'Dequantize']) expect(ops).toContain(op)
  })

  it('refuses eightbit where TensorFlow does not run the model, and lists the modes for a wrong one', () => {
    const spec = fixture('convnet')
    const dir = copyFixture('convnet')
    const tfjs = tfmodel('quantize', `--input=${spec.path(spec.frozen!)}`, `--output=${join(dir, 'out')}`, '--mode=eightbit', '--format=tfjs', '--output_node_names=probs')
    // A wrong mode is bad usage: exit 2.
    expect(tfjs.code).toBe(2)
    expect(tfjs.stderr).toContain('INVALID_ARGUMENT')
    expect(tfjs.stderr).toContain('tfmodel quantize --format pb')
    expect(existsSync(join(dir, 'out'))).toBe(false)
    const wrong = tfmodel('quantize', `--input=${spec.path(spec.frozen!)}`, `--output=${join(dir, 'q.pb')}`, '--mode=eightbits')
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('expected eightbit, weights, weights_rounded, uint8, float16, int8')
    expect(wrong.stderr).toContain('eightbit')
    expect(existsSync(join(dir, 'q.pb'))).toBe(false)
  })

  it("takes quantize_graph's flags: 8 bits, the redundant pairs stripped, --print_nodes; fixed ranges refused with the reason", () => {
    const spec = fixture('convnet')
    const dir = copyFixture('convnet')
    const base = [`--input=${spec.path(spec.frozen!)}`, `--output=${join(dir, 'q.pb')}`, '--output_node_names=probs']
    const taken = tfmodel('quantize', ...base, '--mode=eightbit', '--bitdepth=8', '--strip_redundant_quantization', '--print_nodes', '--test_input_dims=1,24,24,3')
    expect(taken.code, taken.stderr).toBe(0)
    for (const [flag, message] of [
      ['--bitdepth=4', '--bitdepth takes 8 only'],
      ['--quantized_input', '--quantized_input is not supported'],
      ['--quantized_fallback_max=6', '--quantized_fallback_max is not supported: eightbit measures each range as the graph runs'],
    ]) {
      const refused = tfmodel('quantize', ...base, '--mode=eightbit', flag!)
      expect(refused.code, flag).toBe(2)
      expect(refused.stderr).toContain(message)
    }
  })

  it('weights_rounded reports float32 weights, as large as before', () => {
    const spec = fixture('convnet')
    const output = join(copyFixture('convnet'), 'rounded.pb')
    const { code, stdout } = tfmodel('quantize', `--input=${spec.path(spec.frozen!)}`, `--output=${output}`, '--mode=weights_rounded', '--output_node_names=probs')
    expect(code).toBe(0)
    const [, before, after, percent] = /^weights_rounded: weights (\S+ \S+) -> (\S+ \S+) \((\S+)%\)/m.exec(stdout)!
    expect([after, percent]).toEqual([before, '100.0'])
  })
})

describe('every command', () => {
  it.each(['inspect', 'freeze', 'optimize', 'quantize', 'convert'])('%s --help lists its flags and exits 0', (command) => {
    const { code, stdout, stderr } = tfmodel(command, '--help')
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toMatch(new RegExp(`^Usage: tfmodel ${command}\\b`))
    const flags = stdout.split('\n').filter((l) => l.startsWith('  --')).map((l) => l.trim().split(/[=\s]/)[0])
    expect(flags.at(-1)).toBe('--help')
    expect(flags.length).toBeGreaterThan(2)
    expect(tfmodel(command, '-h').stdout).toBe(stdout)
  })

  it('says what is wrong with the arguments and exits 2', () => {
    const cases: [string[], string][] = [
      [['convert', 'only-a-source'], 'tfmodel convert: convert takes a source and an output directory: tfmodel convert <source> <outdir>'],
      [['convert', 'a', 'b', 'c'], 'tfmodel convert: convert takes a source and an output directory: tfmodel convert <source> <outdir>'],
      [['freeze', 'stray', '--output_graph=x.pb'], 'tfmodel freeze: unexpected argument "stray"'],
      [['optimize', '--input=a', '--output=b'], 'tfmodel optimize: --output_names is required'],
      [['quantize', '--input=a', '--output=b', '--minimum_size=-1'], 'tfmodel quantize: --minimum_size takes a whole number'],
      [['convert', 'a', 'b', '--shard_size=1.5'], 'tfmodel convert: --shard_size takes a whole number'],
      [['inspect'], 'tfmodel inspect: inspect needs a checkpoint: tfmodel inspect <prefix|directory>'],
      [['inspect', '--tensor_name'], 'tfmodel inspect: flag --tensor_name needs a value'],
    ]
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = tfmodel(...args)
      expect({ code, stdout, stderr: stderr.trim() }, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: message })
    }
  })

  it('accepts freeze_graph flags it ignores', () => {
    const { code, stderr } = tfmodel('freeze', '--restore_op_name=save/restore_all', '--output_graph=x.pb')
    expect(code).toBe(2)
    expect(stderr.trim()).toBe('tfmodel freeze: give --input_checkpoint (with its .meta beside it), --input_meta_graph, --input_graph or --input_saved_model_dir')
  })
})
