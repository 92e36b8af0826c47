// Our .tflite files run by LiteRT.js (`@litertjs/core`, WASM) through the
// runtime's loader, against TensorFlow's outputs for the fixtures.
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { zipSync } from 'fflate'
import { describe, expect, it } from 'vitest'

import { convert } from '../src/native.js'
import { parseDirectives } from '../src/plugin/directives.js'
import { type Options, resolveOptions } from '../src/plugin/options.js'
import { buildApp } from './bundlers.js'
import type { Signature } from '../src/runtime/types.js'
import { fixture, type JsonTensor, readJson, root } from './fixtures.js'
import { closeness, fileFetch, interpreterHeads, tensorflowHeads, tfliteModel } from './litert-node.js'
import { floats } from './tfjs-loader.js'

async function convertTflite(name: string, options: { outputs?: string[]; quantize?: string } = {}) {
  const spec = fixture(name)
  const dir = mkdtempSync(join(tmpdir(), `tfmodel-litert-${name}-`))
  const result = await convert({
    source: spec.path(spec.checkpoint!),
    outputNodeNames: options.outputs ?? spec.output_node_names,
    quantize: options.quantize,
    format: 'tflite',
    outputDir: dir,
  })
  const toSpec = (s: { name: string; dtype: string; shape?: number[] | null }) => ({ name: s.name, dtype: s.dtype, shape: s.shape ?? null })
  const signature = { inputs: result.signature.inputs.map(toSpec), outputs: result.signature.outputs.map(toSpec) } as Signature
  return tfliteModel(join(dir, 'model.tflite'), signature)
}

const input = (tensor: JsonTensor) => ({ data: floats(tensor), shape: tensor.shape })

describe('LiteRT.js runs our .tflite to TensorFlow\'s outputs', () => {
  it('convnet, float32, a batch of 8 (the file keeps batch -1)', async () => {
    const spec = fixture('convnet')
    const io = readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(spec.path(spec.io!))
    const loaded = await (await convertTflite('convnet')).load({ fetch: fileFetch })
    expect(loaded.backend).toBe('wasm')
    const outputs = await loaded.run({ input: input(io.inputs.input!) })
    for (const [name, expected] of Object.entries(io.outputs)) {
      expect(outputs[name]!.shape, name).toEqual(expected.shape)
      expect(closeness(outputs[name]!.data as Float32Array, floats(expected)), name).toBeLessThanOrEqual(1)
    }
    // Batch 1 after batch 8: each batch has its own compiled copy.
    const one = await loaded.run({ input: { data: floats(io.inputs.input!).subarray(0, 24 * 24 * 3), shape: [1, 24, 24, 3] } })
    expect(closeness(one.probs!.data as Float32Array, floats(io.outputs.probs!).subarray(0, 4))).toBeLessThanOrEqual(1)
    loaded.dispose()
    await expect(loaded.run({ input: input(io.inputs.input!) })).rejects.toThrow()
  })

  it('convnet, dynamic-range int8: held-out accuracy within 1 point of TensorFlow\'s', async () => {
    const heldout = readJson<{ inputs: Record<string, JsonTensor>; labels: JsonTensor; accuracy: number }>(fixture('convnet').path('heldout.json'))
    const labelBytes = Buffer.from(heldout.labels.data as string, 'base64')
    const labels = new Int32Array(labelBytes.buffer.slice(labelBytes.byteOffset, labelBytes.byteOffset + labelBytes.byteLength))
    const model = await convertTflite('convnet', { quantize: 'int8' })
    expect(model.quantization).toBe(null) // the test's own descriptor; the plugin fills it
    const loaded = await model.load({ fetch: fileFetch })
    const { probs } = await loaded.run({ input: input(heldout.inputs.input!) })
    const p = probs!.data as Float32Array
    let correct = 0
    for (let i = 0; i < labels.length; i++) {
      const row = Array.from(p.subarray(i * 4, i * 4 + 4))
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++
    }
    expect(correct / labels.length).toBeGreaterThanOrEqual(heldout.accuracy - 0.01)
    loaded.dispose()
  })

  it('detector raw heads (outputs=box_encodings,class_predictions), uint8 images', async () => {
    const heads = ['box_encodings', 'class_predictions']
    const images = readJson<{ input: JsonTensor }[]>(fixture('detector').path('images.json'))
    const expected = tensorflowHeads(heads)
    const loaded = await (await convertTflite('detector', { outputs: heads })).load({ fetch: fileFetch })
    for (const [i, image] of images.entries()) {
      const bytes = Buffer.from(image.input.data as string, 'base64')
      const outputs = await loaded.run({ image_tensor: { data: new Uint8Array(bytes), shape: image.input.shape } })
      for (const head of heads) {
        const want = expected[i]![head]!
        expect(outputs[head]!.shape, `image ${i} ${head}`).toEqual(want.shape)
        expect(closeness(outputs[head]!.data as Float32Array, floats(want)), `image ${i} ${head}`).toBeLessThanOrEqual(1)
      }
    }
    loaded.dispose()
  })

  it('detector heads, full int8 calibrated on the test PNGs by tfmodel convert: LiteRT.js gives what TensorFlow\'s interpreter gives', async () => {
    const heads = ['box_encodings', 'class_predictions']
    const spec = fixture('detector')
    const dir = mkdtempSync(join(tmpdir(), 'tfmodel-litert-int8-full-'))
    const cli = spawnSync('node', [join(root, 'bin', 'tfmodel.js'), 'convert', spec.path(spec.checkpoint!), dir, '--format', 'tflite', '--quantize', 'int8-full',
      '--calibration', spec.path('images'), '--output_node_names', heads.join(',')], { encoding: 'utf8' })
    expect(cli.status, cli.stderr).toBe(0)
    // LiteRT.js's own progress lines and its warning that Node has no WebGPU stay out of the CLI's output.
    expect(cli.stderr).not.toMatch(/^(INFO|WARNING): |WebGPU/m)
    const path = join(dir, 'model.tflite')
    const expected = interpreterHeads(path, heads)
    const images = readJson<{ input: JsonTensor }[]>(spec.path('images.json'))
    const signature = { inputs: [{ name: 'image_tensor', dtype: 'int32', shape: [1, 64, 64, 3] }], outputs: heads.map((name) => ({ name, dtype: 'float32', shape: null })) } as unknown as Signature
    const loaded = await tfliteModel(path, signature).load({ fetch: fileFetch })
    for (const [i, image] of images.entries()) {
      const outputs = await loaded.run({ image_tensor: { data: new Uint8Array(Buffer.from(image.input.data as string, 'base64')), shape: image.input.shape } })
      for (const head of heads) {
        const want = floats(expected[i]![head]!)
        const got = outputs[head]!.data as Float32Array
        // The same int8 kernels on both sides: the same levels, exactly.
        expect(got.length, `image ${i} ${head}`).toBe(want.length)
        expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength)), `image ${i} ${head}`).toBe(0)
      }
    }
    loaded.dispose()
  })

  it('format=tflite refuses quantize=uint8, naming int8', async () => {
    await expect(convertTflite('convnet', { quantize: 'uint8' })).rejects.toThrow(/int8/)
  })
})

describe('int8-full calibration sources', () => {
  const spec = fixture('convnet')
  const heldout = readJson<{ inputs: Record<string, JsonTensor> }>(spec.path('heldout.json'))
  const samples = floats(heldout.inputs.input!).subarray(0, 32 * 24 * 24 * 3)
  const dir = mkdtempSync(join(tmpdir(), 'tfmodel-calibration-sources-'))

  /** numpy's .npy, format 1.0, little-endian float32. */
  function npy(data: Float32Array, shape: number[]): Buffer {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`
    header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n'
    const lead = Buffer.alloc(10)
    lead.write('\x93NUMPY', 0, 'latin1')
    lead.writeUInt8(1, 6)
    lead.writeUInt16LE(header.length, 8)
    return Buffer.concat([lead, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)])
  }

  function convertWith(calibration: string) {
    const out = mkdtempSync(join(dir, 'out-'))
    const cli = spawnSync('node', [join(root, 'bin', 'tfmodel.js'), 'convert', spec.path(spec.checkpoint!), out, '--format', 'tflite', '--quantize', 'int8-full',
      '--calibration', calibration, '--output_node_names', 'probs'], { encoding: 'utf8' })
    return { status: cli.status, stderr: cli.stderr, tflite: cli.status === 0 ? readFileSync(join(out, 'model.tflite')) : undefined }
  }

  /** A calibration module yielding `count` records (the 32 samples in turn), one every `delayMs`. */
  function writeModule(name: string, count: number, delayMs: number): void {
    const base64 = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64')
    writeFileSync(join(dir, name), [
      `const all = new Float32Array(Buffer.from('${base64}', 'base64').buffer.slice(0))`,
      'const size = 24 * 24 * 3',
      'export default async function* () {',
      `  for (let i = 0; i < ${count}; i++) {`,
      `    if (${delayMs}) await new Promise((resolve) => setTimeout(resolve, ${delayMs}))`,
      '    yield { input: { data: all.subarray((i % 32) * size, ((i % 32) + 1) * size), shape: [1, 24, 24, 3] } }',
      '  }',
      '}',
    ].join('\n'))
  }

  it('an .npy, an .npz and a module holding the same samples give the same file', () => {
    const shape = [32, 24, 24, 3]
    writeFileSync(join(dir, 'samples.npy'), npy(samples, shape))
    writeFileSync(join(dir, 'samples.npz'), zipSync({ 'input.npy': new Uint8Array(npy(samples, shape)) }))
    writeModule('samples.mjs', 32, 0)
    const fromNpy = convertWith(join(dir, 'samples.npy'))
    const fromNpz = convertWith(join(dir, 'samples.npz'))
    const fromModule = convertWith(join(dir, 'samples.mjs'))
    for (const result of [fromNpy, fromNpz, fromModule]) expect(result.status, result.stderr).toBe(0)
    expect(Buffer.compare(fromNpz.tflite!, fromNpy.tflite!)).toBe(0)
    expect(Buffer.compare(fromModule.tflite!, fromNpy.tflite!)).toBe(0)
  })

  it('a slow model\'s samples are shared with a worker thread, which measures the same ranges', async () => {
    // The built module, as the CLI and the plugin load it: a worker thread loads it again.
    const { calibrate } = await import('../dist/node/index.js')
    // A source that yields a record every 10 ms, so that the worker is up while samples remain.
    writeModule('slow.mjs', 300, 10)
    const request = { source: spec.path(spec.checkpoint!), outputNodeNames: ['probs'] }
    const alone = await calibrate(request, join(dir, 'slow.mjs'), { threads: 1, engine: 'litert' })
    const shared = await calibrate(request, join(dir, 'slow.mjs'), { threads: 2, parallelAboveMs: 0, engine: 'litert' })
    expect(alone.samplesPerThread).toEqual([300])
    expect(shared.samplesPerThread).toHaveLength(2)
    expect(shared.samplesPerThread[1], 'samples the worker ran').toBeGreaterThan(0)
    expect(shared.samplesPerThread[0]! + shared.samplesPerThread[1]!).toBe(300)
    expect(shared.ranges).toEqual(alone.ranges)
  }, 30_000)

  it('the core measures the ranges LiteRT.js measures, on the classifier and on the detector\'s uint8 input', async () => {
    const { calibrate } = await import('../dist/node/index.js')
    writeFileSync(join(dir, 'same.npy'), npy(samples, [32, 24, 24, 3]))
    const detector = fixture('detector')
    const cases = [
      { request: { source: spec.path(spec.checkpoint!), outputNodeNames: ['probs'] }, source: join(dir, 'same.npy'), count: 32 },
      { request: { source: detector.path(detector.checkpoint!), outputNodeNames: ['box_encodings', 'class_predictions'] }, source: detector.path('images'), count: 4 },
    ]
    for (const { request, source, count } of cases) {
      const core = await calibrate(request, source)
      const litert = await calibrate(request, source, { engine: 'litert' })
      expect([core.engine, core.fallback, core.samplesPerThread]).toEqual(['core', undefined, [count]])
      expect(litert.engine).toBe('litert')
      expect(Object.keys(core.ranges).sort()).toEqual(Object.keys(litert.ranges).sort())
      for (const [name, [lo, hi]] of Object.entries(litert.ranges)) {
        const [coreLo, coreHi] = core.ranges[name]!
        // float32 kernels summing in another order: the same ranges to within a millionth of their span.
        const tolerance = 1e-5 * Math.max(hi - lo, 1e-3)
        expect(Math.abs(coreLo - lo), `${name} min`).toBeLessThanOrEqual(tolerance)
        expect(Math.abs(coreHi - hi), `${name} max`).toBeLessThanOrEqual(tolerance)
      }
    }
  }, 60_000)

  it('a missing or mismatched source is a coded error naming it', () => {
    writeFileSync(join(dir, 'wrong.npy'), npy(samples.subarray(0, 32 * 24 * 24), [32, 24, 24, 1]))
    writeFileSync(join(dir, 'other.npz'), zipSync({ 'x.npy': new Uint8Array(npy(samples, [32, 24, 24, 3])), 'y.npy': new Uint8Array(npy(samples, [32, 24, 24, 3])) }))
    writeFileSync(join(dir, 'nothing.mjs'), 'export default 42\n')
    writeFileSync(join(dir, 'doubles.mjs'), 'export default [{ input: new Float64Array(24 * 24 * 3) }]\n')
    mkdirSync(join(dir, 'no-images'), { recursive: true })
    const cases: [string, RegExp][] = [
      [join(dir, 'absent'), /FILE_NOT_FOUND: calibration source .*absent does not exist/],
      [join(dir, 'wrong.npy'), /SHAPE_MISMATCH: input "input" has shape \[-1,24,24,3\]; .*wrong\.npy holds \[32,24,24,1\]/],
      [join(dir, 'other.npz'), /SHAPE_MISMATCH: .*other\.npz has no array for input "input" \(it has x, y\)/],
      [join(dir, 'nothing.mjs'), /UNSUPPORTED_FORMAT: calibration module .*nothing\.mjs must export default an iterable/],
      [join(dir, 'doubles.mjs'), /DTYPE_MISMATCH: calibration samples from .*doubles\.mjs for input "input" are a Float64Array/],
      [join(dir, 'no-images'), /SHAPE_MISMATCH: calibration folder .*no-images holds no PNG or JPEG images/],
    ]
    for (const [source, message] of cases) {
      const result = convertWith(source)
      expect(result.status, source).toBe(1)
      expect(result.stderr, source).toMatch(message)
    }
  })

  it('a corrupt image or archive, or a module that throws or yields plain arrays, is a coded error naming the file', () => {
    const png = readFileSync(fixture('detector').path('images/test-0.png'))
    for (const [folder, name, bytes] of [
      ['cut-png', 'a.png', png.subarray(0, 60)],
      ['bad-jpeg', 'a.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3])],
    ] as const) {
      mkdirSync(join(dir, folder), { recursive: true })
      writeFileSync(join(dir, folder, name), bytes)
    }
    writeFileSync(join(dir, 'not-zip.npz'), 'not a zip archive')
    writeFileSync(join(dir, 'throws.mjs'), "export default (function* () { throw new Error('dataset exploded') })()\n")
    writeFileSync(join(dir, 'broken.mjs'), 'export default [\n')
    writeFileSync(join(dir, 'plain.mjs'), 'export default [{ input: new Array(24 * 24 * 3).fill(0.5) }]\n')
    writeFileSync(join(dir, 'transposed.mjs'), 'export default [{ input: { data: new Float32Array(24 * 24 * 3), shape: [1, 3, 24, 24] } }]\n')
    const cases: [string, RegExp][] = [
      [join(dir, 'cut-png'), /UNSUPPORTED_FORMAT: .*cut-png\/a\.png is a truncated or corrupt PNG/],
      [join(dir, 'bad-jpeg'), /UNSUPPORTED_FORMAT: .*bad-jpeg\/a\.jpg is a truncated or corrupt JPEG/],
      [join(dir, 'not-zip.npz'), /UNSUPPORTED_FORMAT: .*not-zip\.npz is not an \.npz/],
      [join(dir, 'throws.mjs'), /CALIBRATION_FAILED: calibration module .*throws\.mjs threw while yielding samples: dataset exploded/],
      [join(dir, 'broken.mjs'), /CALIBRATION_FAILED: calibration module .*broken\.mjs threw while loading/],
      [join(dir, 'plain.mjs'), /DTYPE_MISMATCH: calibration samples from .*plain\.mjs for input "input" are a plain array/],
      [join(dir, 'transposed.mjs'), /SHAPE_MISMATCH: .*transposed\.mjs: calibration samples for input "input" are \[3, 24, 24\] each where the model's input takes \[24, 24, 3\]/],
    ]
    for (const [source, message] of cases) {
      const result = convertWith(source)
      expect(result.status, source).toBe(1)
      expect(result.stderr, source).toMatch(message)
    }
  })

  it('a module edited between two calibrations in one process is read again', async () => {
    const { calibrate } = await import('../dist/node/index.js')
    const request = { source: spec.path(spec.checkpoint!), outputNodeNames: ['probs'] }
    const module = join(dir, 'edited.mjs')
    const filled = async (value: number) => {
      writeFileSync(module, `export default [{ input: new Float32Array(24 * 24 * 3).fill(${value}) }]\n`)
      return (await calibrate(request, module)).ranges.input
    }
    expect(await filled(0.25)).toEqual([0.25, 0.25])
    expect(await filled(0.75)).toEqual([0.75, 0.75])
  })

  it('pixel flags apply to calibration images only, and --std_value is not 0', () => {
    writeFileSync(join(dir, 'flags.npy'), npy(samples, [32, 24, 24, 3]))
    const cli = (...extra: string[]) =>
      spawnSync('node', [join(root, 'bin', 'tfmodel.js'), 'convert', spec.path(spec.checkpoint!), join(dir, 'flags-out'), '--format', 'tflite', '--output_node_names', 'probs', ...extra], { encoding: 'utf8' })
    for (const [extra, message] of [
      [['--quantize', 'int8-full', '--calibration', fixture('detector').path('images'), '--std_value', '0'], /--std_value divides each pixel/],
      [['--quantize', 'int8-full', '--calibration', join(dir, 'flags.npy'), '--mean_value', '3'], /apply to a folder of calibration images; .*flags\.npy is fed as it is/],
      [['--mean_value', '3'], /--mean_value and --std_value apply to --calibration images/],
    ] as const) {
      const result = cli(...extra)
      expect(result.status, result.stderr).toBe(2)
      expect(result.stderr).toMatch(message)
    }
  })
})

describe('quantize=int8-full in the plugin', () => {
  const heads = 'box_encodings,class_predictions'

  function cliTflite(calibration: string): Buffer {
    const spec = fixture('detector')
    const dir = mkdtempSync(join(tmpdir(), 'tfmodel-int8-full-cli-'))
    const cli = spawnSync('node', [join(root, 'bin', 'tfmodel.js'), 'convert', spec.path(spec.checkpoint!), dir, '--format', 'tflite', '--quantize', 'int8-full', '--calibration', calibration, '--output_node_names', heads], { encoding: 'utf8' })
    expect(cli.status, cli.stderr).toBe(0)
    return readFileSync(join(dir, 'model.tflite'))
  }

  async function build(query: string, options: Options): Promise<{ tflite: Buffer; converted: number }> {
    const app = mkdtempSync(join(tmpdir(), 'tfmodel-int8-full-app-'))
    writeFileSync(join(app, 'main.js'), `export { default } from '${fixture('detector').path('model.ckpt')}?${query}'\n`)
    const logs: string[] = []
    const outDir = join(app, 'dist')
    await buildApp('vite', app, join(app, 'main.js'), outDir, { dts: false, debug: (m) => logs.push(m), ...options })
    const tflite = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.tflite'))
    expect(tflite).toHaveLength(1)
    return { tflite: readFileSync(join(outDir, 'assets', tflite[0]!)), converted: logs.filter((l) => l.startsWith('converted')).length }
  }

  it('calibrates on the folder a directive names beside the model, as tfmodel convert --calibration does', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'tfmodel-cache-'))
    const built = await build(`format=tflite&quantize=int8-full&outputs=${heads}&calibration=images`, { cacheDir })
    expect(built.converted).toBe(1)
    expect(Buffer.compare(built.tflite, cliTflite(fixture('detector').path('images')))).toBe(0)

    // Other calibration data converts again (these two of the four images
    // give the same ranges and file): the cache key holds its bytes.
    const fewer = mkdtempSync(join(tmpdir(), 'tfmodel-calibration-'))
    for (const png of ['test-0.png', 'test-1.png']) copyFileSync(fixture('detector').path(`images/${png}`), join(fewer, png))
    // Globs match paths relative to the plugin's root.
    const options = { cacheDir, root: fixture('detector').dir, models: [{ include: 'model.ckpt', calibration: fewer }] }
    const other = await build(`format=tflite&quantize=int8-full&outputs=${heads}`, options)
    expect(other.converted).toBe(1)
    expect(Buffer.compare(other.tflite, cliTflite(fewer))).toBe(0)
    const again = await build(`format=tflite&quantize=int8-full&outputs=${heads}`, options)
    expect(again.converted).toBe(0)
  })

  it('without calibration data is an error naming the option', async () => {
    await expect(build(`format=tflite&quantize=int8-full&outputs=${heads}`, { cacheDir: false })).rejects.toThrow(/calibration/)
    expect(() => parseDirectives('calibration=')).toThrow(/needs a folder of images, an .npy, an .npz or a module/)
    expect(() => resolveOptions({ models: [{ include: '*', calibration: { path: 'x', mean: 'a' as unknown as number } }] }, root)).toThrow(/calibration/)
    expect(() => resolveOptions({ models: [{ include: '*', calibration: { path: 'x', std: 0 } }] }, root)).toThrow(/std other than 0/)
    expect(() => resolveOptions({ models: [{ include: '*', calibration: { path: 'x', scale: 2 } as unknown as string }] }, root)).toThrow(/takes a path, or \{ path, mean\?, std\? \}/)
    expect(() => resolveOptions({ models: [{ include: '*', quantize: 'int8', calibration: 'x' }] }, root)).toThrow(/models\[0\]\.calibration is for quantize: 'int8-full'/)
  })

  it('a calibration directive without int8-full is an error, not ignored', async () => {
    await expect(build(`format=tflite&quantize=int8&outputs=${heads}&calibration=images`, { cacheDir: false })).rejects.toThrow(/directive "calibration" is for quantize=int8-full/)
  })

  it('watches the calibration folder and its images in a build, so watch mode rebuilds when they change', async () => {
    const { rollup } = await import('rollup')
    const { default: tfmodel } = await import('../src/rollup.js')
    const app = mkdtempSync(join(tmpdir(), 'tfmodel-int8-full-watch-'))
    writeFileSync(join(app, 'main.js'), `export { default } from '${fixture('detector').path('model.ckpt')}?format=tflite&quantize=int8-full&outputs=${heads}&calibration=images'\n`)
    const bundle = await rollup({ input: join(app, 'main.js'), plugins: [tfmodel({ dts: false, cacheDir: false })], external: [/unplugin-tfmodel|@litertjs/] })
    await bundle.close()
    const images = fixture('detector').path('images')
    expect(bundle.watchFiles).toEqual(expect.arrayContaining([images, ...readdirSync(images).map((f) => join(images, f))]))
  })
})

describe('format=tflite in the plugin', () => {
  it('is a directive, a global option and a per-glob one', () => {
    expect(parseDirectives('format=tflite&quantize=int8')).toEqual({ format: 'tflite', quantize: 'int8' })
    expect(resolveOptions({ format: 'tflite' }, root).format).toBe('tflite')
    expect(resolveOptions({ models: [{ include: '**/*.ckpt', format: 'tflite' }] }, root).models[0]!.options.format).toBe('tflite')
    expect(() => resolveOptions({ format: 'tflit' as 'tflite' }, root)).toThrow(/"tfjs", "pb", "tflite"/)
  })
})
