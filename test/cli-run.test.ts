// `tfmodel run` (label_image) against TensorFlow's stored outputs: the
// detector's PNGs (and JPEGs of them, against TensorFlow on the same files)
// through a TF.js model, the convnet's inputs (as .npy, and as PNGs) through
// TF.js and a .tflite, and a coded error for an input that does not fit.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { beforeAll, describe, expect, it } from 'vitest'

import { fixture, type JsonTensor, readJson, root, tensorBytes } from './fixtures.js'

function tfmodel(...args: string[]) {
  const result = spawnSync('node', [join(root, 'bin', 'tfmodel.js'), ...args], { encoding: 'utf8' })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

const floats = (t: JsonTensor) => {
  const bytes = tensorBytes(t)
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
}
const argmax = (values: ArrayLike<number>) => Array.from(values).reduce((best, v, i, all) => (v > all[best]! ? i : best), 0)

/** A float32 .npy of `data` with `shape`. */
function writeNpy(path: string, data: Float32Array, shape: number[]): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'
  const head = Buffer.alloc(10)
  head.write('\x93NUMPY', 0, 'latin1')
  head[6] = 1
  head.writeUInt16LE(header.length, 8)
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]))
}

const dir = mkdtempSync(join(tmpdir(), 'tfmodel-run-'))
const convnet = fixture('convnet')
const detector = fixture('detector')
const io = readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(convnet.path('io.json'))
const images = readJson<{ outputs: Record<string, JsonTensor>; png: string }[]>(detector.path('images.json'))
const HELD_IN = io.inputs.input!.shape[0]!

beforeAll(() => {
  for (const [source, out, format] of [
    [convnet.path(convnet.checkpoint!), 'convnet', 'tfjs'],
    [convnet.path(convnet.checkpoint!), 'convnet-tflite', 'tflite'],
    [detector.path(detector.checkpoint!), 'detector', 'tfjs'],
  ] as const) {
    const { code, stderr } = tfmodel('convert', source, join(dir, out), '--format', format)
    expect(code, stderr).toBe(0)
  }
  // The first held-in image, as TensorFlow fed it.
  const input = floats(io.inputs.input!)
  writeNpy(join(dir, 'image.npy'), input.subarray(0, 24 * 24 * 3), [1, 24, 24, 3])
  writeFileSync(join(dir, 'labels.txt'), 'circle\nsquare\nhorizontal_bars\nvertical_bars\n')
  // Every held-in image as an 8-bit PNG: its [0, 1] floats at label_image's
  // default mean 0 and std 255, within half a level of what TensorFlow fed.
  for (let i = 0; i < HELD_IN; i++) {
    const png = new PNG({ width: 24, height: 24 })
    for (let p = 0; p < 24 * 24; p++) {
      for (let c = 0; c < 3; c++) png.data[p * 4 + c] = Math.round(input[(i * 24 * 24 + p) * 3 + c]! * 255)
      png.data[p * 4 + 3] = 255
    }
    writeFileSync(join(dir, `image-${i}.png`), PNG.sync.write(png))
  }
}, 120_000)

describe('tfmodel run', () => {
  it("prints the detector's top score on a PNG as TensorFlow did", () => {
    for (const image of images) {
      const { code, stdout, stderr } = tfmodel('run', join(dir, 'detector'), '--image', detector.path(image.png), '--output_layer_name', 'detection_scores', '--json')
      expect(code, stderr).toBe(0)
      const top = (JSON.parse(stdout) as { top: { index: number; score: number }[] }).top
      const expected = floats(image.outputs.detection_scores!)
      expect(top[0]!.index).toBe(argmax(expected))
      expect(top[0]!.score).toBeCloseTo(expected[argmax(expected)]!, 4)
    }
  }, 60_000)

  it("prints the detector's top score on a JPEG as TensorFlow does on the same file", () => {
    // JPEGs of the test images; TensorFlow decodes them itself (tf.io.decode_jpeg) and runs its frozen graph.
    const jpegs = images.map((image, i) => {
      const png = PNG.sync.read(readFileSync(detector.path(image.png)))
      const path = join(dir, `test-${i}.jpg`)
      writeFileSync(path, jpeg.encode({ data: png.data, width: png.width, height: png.height }, 90).data)
      return path
    })
    const script = [
      'import json, sys, numpy as np, tensorflow as tf',
      'pixels = [tf.io.decode_jpeg(open(p, "rb").read()).numpy()[None] for p in sys.argv[2:]]',
      'graph = tf.compat.v1.GraphDef(); graph.ParseFromString(open(sys.argv[1], "rb").read())',
      'g = tf.Graph()',
      'with g.as_default(): tf.compat.v1.import_graph_def(graph, name="")',
      'with tf.compat.v1.Session(graph=g) as s:',
      '    out = [s.run("detection_scores:0", {"image_tensor:0": x})[0].tolist() for x in pixels]',
      'print(json.dumps(out))',
    ].join('\n')
    const python = spawnSync(join(root, '.venv', 'bin', 'python'), ['-c', script, detector.path(detector.frozen!), ...jpegs], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } })
    expect(python.status, python.stderr).toBe(0)
    const theirs = JSON.parse(python.stdout) as number[][]
    for (const [i, path] of jpegs.entries()) {
      const { code, stdout, stderr } = tfmodel('run', join(dir, 'detector'), '--image', path, '--output_layer_name', 'detection_scores', '--json')
      expect(code, stderr).toBe(0)
      const top = (JSON.parse(stdout) as { top: { index: number; score: number }[] }).top
      expect(top[0]!.index, path).toBe(argmax(theirs[i]!))
      // Two JPEG decoders may differ by a level here and there.
      expect(Math.abs(top[0]!.score - theirs[i]![argmax(theirs[i]!)]!), path).toBeLessThan(1e-2)
    }
  }, 120_000)

  for (const model of ['convnet', 'convnet-tflite/model.tflite']) {
    it(`prints TensorFlow's top-1 class with its label (${model})`, () => {
      const { code, stdout, stderr } = tfmodel('run', join(dir, model), '--image', join(dir, 'image.npy'), '--output_layer_name', 'probs', '--labels', join(dir, 'labels.txt'), '--top_k', '2')
      expect(code, stderr).toBe(0)
      // Nothing but the scores: no runtime's banner or hint in between.
      expect(stderr).toBe('')
      const probs = floats(io.outputs.probs!).subarray(0, 4)
      const best = argmax(probs)
      const lines = stdout.trim().split('\n')
      expect(lines).toHaveLength(2)
      const [, label, index, score] = /^(\S+) \((\d+)\): (\S+)$/.exec(lines[0]!)!
      expect([label, Number(index)]).toEqual([['circle', 'square', 'horizontal_bars', 'vertical_bars'][best], best])
      expect(Number(score)).toBeCloseTo(probs[best]!, 4)
    }, 60_000)
  }

  for (const model of ['convnet', 'convnet-tflite/model.tflite']) {
    it(`prints TensorFlow's top-1 class on each of the convnet's images as PNGs (${model})`, () => {
      const probs = floats(io.outputs.probs!)
      for (let i = 0; i < HELD_IN; i++) {
        const image = join(dir, `image-${i}.png`)
        const { code, stdout, stderr } = tfmodel('run', join(dir, model), '--image', image, '--output_layer_name', 'probs', '--json')
        expect(code, stderr).toBe(0)
        const top = (JSON.parse(stdout) as { top: { index: number; score: number }[] }).top
        const theirs = probs.subarray(i * 4, i * 4 + 4)
        expect(top[0]!.index, image).toBe(argmax(theirs))
        // Half a level of rounding in the pixels moves a probability by far less than this.
        expect(Math.abs(top[0]!.score - theirs[argmax(theirs)]!), image).toBeLessThan(1e-2)
      }
    }, 120_000)
  }

  it('rejects an image that does not fit the input, naming both, with a code', () => {
    const png = detector.path(images[0]!.png)
    const { code, stderr } = tfmodel('run', join(dir, 'detector'), '--image', png, '--input_width', '32', '--output_layer_name', 'detection_scores')
    expect(code).toBe(1)
    expect(stderr).toContain('error SHAPE_MISMATCH')
    expect(stderr).toContain('"image_tensor"')
    expect(stderr).toContain(png)
  })

  for (const mode of ['weights', 'int8']) {
    it(`runs a graph tfmodel quantize --mode ${mode} wrote, its Dequantized weights decoded as TensorFlow decodes them`, () => {
      const graph = join(dir, `convnet-${mode}.pb`)
      const quantized = tfmodel('quantize', `--input=${convnet.path(convnet.frozen!)}`, `--output=${graph}`, '--output_node_names=probs', `--mode=${mode}`, '--minimum_size=0')
      expect(quantized.code, quantized.stderr).toBe(0)
      // TensorFlow running the quantized graph itself (its Dequantize kernels) on the first image: its
      // logits, which 8-bit weights move by 0.06 to 0.2 from the float graph's, an inner node as label_image allowed.
      const script = [
        'import json, sys, numpy as np, tensorflow as tf',
        'graph = tf.compat.v1.GraphDef(); graph.ParseFromString(open(sys.argv[1], "rb").read())',
        'g = tf.Graph()',
        'with g.as_default(): tf.compat.v1.import_graph_def(graph, name="")',
        'with tf.compat.v1.Session(graph=g) as s: print(json.dumps(s.run("logits:0", {"input:0": np.load(sys.argv[2])})[0].tolist()))',
      ].join('\n')
      const python = spawnSync(join(root, '.venv', 'bin', 'python'), ['-c', script, graph, join(dir, 'image.npy')], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } })
      expect(python.status, python.stderr).toBe(0)
      const tensorflow = JSON.parse(python.stdout) as number[]
      const ours = tfmodel('run', graph, '--image', join(dir, 'image.npy'), '--output_layer_name', 'logits', '--json', '--top_k', '4')
      expect(ours.code, ours.stderr).toBe(0)
      const top = (JSON.parse(ours.stdout) as { top: { index: number; score: number }[] }).top
      expect(top).toHaveLength(4)
      for (const { index, score } of top) expect(Math.abs(score - tensorflow[index]!), `logits[${index}]`).toBeLessThan(1e-4)
      // And every image's class stays TensorFlow's float answer.
      const probs = floats(io.outputs.probs!)
      for (let i = 0; i < HELD_IN; i++) {
        const { code, stdout, stderr } = tfmodel('run', graph, '--image', join(dir, `image-${i}.png`), '--output_layer_name', 'probs', '--json')
        expect(code, stderr).toBe(0)
        const top = (JSON.parse(stdout) as { top: { index: number; score: number }[] }).top
        const theirs = probs.subarray(i * 4, i * 4 + 4)
        expect(top[0]!.index).toBe(argmax(theirs))
        // 8-bit weights move a probability by about a hundredth here.
        expect(Math.abs(top[0]!.score - theirs[argmax(theirs)]!)).toBeLessThan(5e-2)
      }
    }, 120_000)
  }

  it('runs the .tflite in a directory tfmodel convert --format tflite wrote', () => {
    const { code, stdout, stderr } = tfmodel('run', join(dir, 'convnet-tflite'), '--image', join(dir, 'image-0.png'), '--output_layer_name', 'probs', '--json')
    expect(code, stderr).toBe(0)
    const probs = floats(io.outputs.probs!).subarray(0, 4)
    expect((JSON.parse(stdout) as { top: { index: number }[] }).top[0]!.index).toBe(argmax(probs))
  }, 60_000)

  it('names a missing model, image or labels file with FILE_NOT_FOUND, and a file that is no TFLite model with UNSUPPORTED_FORMAT', () => {
    const model = join(dir, 'convnet-tflite', 'model.tflite')
    const image = join(dir, 'image-0.png')
    const notTflite = join(dir, 'not-a-model.tflite')
    writeFileSync(notTflite, 'this is text, not a FlatBuffer')
    for (const [args, expected] of [
      [[join(dir, 'missing.tflite'), '--image', image], `error FILE_NOT_FOUND: ${join(dir, 'missing.tflite')}`],
      [[model, '--image', join(dir, 'missing.png'), '--output_layer_name', 'probs'], `error FILE_NOT_FOUND: ${join(dir, 'missing.png')}`],
      [[model, '--image', image, '--output_layer_name', 'probs', '--labels', join(dir, 'missing.txt')], `error FILE_NOT_FOUND: ${join(dir, 'missing.txt')}`],
      [[notTflite, '--image', image], `error UNSUPPORTED_FORMAT: ${notTflite} is not a TFLite model`],
    ] as const) {
      const { code, stderr } = tfmodel('run', ...args)
      expect(code, stderr).toBe(1)
      expect(stderr).toContain(expected)
    }
  }, 60_000)

  it('rejects an .npy of the wrong shape with a code', () => {
    const npy = join(dir, 'wrong.npy')
    writeNpy(npy, new Float32Array(2 * 24 * 24), [1, 24, 24, 2])
    const { code, stderr } = tfmodel('run', join(dir, 'convnet'), '--image', npy, '--output_layer_name', 'probs')
    expect(code).toBe(1)
    expect(stderr).toContain('error SHAPE_MISMATCH')
    expect(stderr).toContain(npy)
  })
})
