// The apps the browser tests build and what they run in the page, shared by
// every engine: examples/web (the detector on TF.js) and a small app importing
// `?format=tflite` models (LiteRT.js), checked against TensorFlow's outputs.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'

import { outDirFor } from './bundlers.js'
import { fixture, type JsonTensor, readJson, root } from './fixtures.js'
import { closeness, tensorflowHeads } from './litert-node.js'
import { floats } from './tfjs-loader.js'

/** Builds one of examples/ with its own Vite config; returns the output directory. */
export async function buildExample(config: string): Promise<string> {
  const { build } = await import('vite')
  const outDir = outDirFor('example')
  await build({ configFile: join(root, 'examples', config), logLevel: 'silent', build: { outDir, emptyOutDir: true } })
  return outDir
}

const HEADS = ['box_encodings', 'class_predictions']

/** Builds the tflite app: `window.models` holds the convnet and the detector's heads as `?format=tflite` imports. */
export async function buildTfliteApp(): Promise<string> {
  // Inside the repository, so the app resolves @litertjs/core as an installed one would.
  const app = outDirFor('litert-app')
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n')
  writeFileSync(
    join(app, 'main.js'),
    [
      `import convnet from ${JSON.stringify(`${fixture('convnet').path('model.ckpt')}?format=tflite`)}`,
      `import detector from ${JSON.stringify(`${fixture('detector').path('model.ckpt')}?format=tflite&outputs=${HEADS.join(',')}`)}`,
      'window.models = { convnet, detector }',
      '',
    ].join('\n'),
  )
  const { build } = await import('vite')
  const { default: tfmodel } = await import('../src/vite.js')
  const outDir = join(app, 'dist')
  await build({ root: app, base: './', logLevel: 'silent', plugins: [tfmodel({ dts: false })], build: { outDir, emptyOutDir: true, target: 'es2022' } })
  return outDir
}

export interface TfliteInputs {
  convnetInput: { data: number[]; shape: number[] }
  images: number[][]
}

export interface TfliteResults {
  backend: string
  progress: number[]
  probs: number[]
  logits: number[]
  detected: Record<string, { shape: number[]; data: number[] }>[]
}

/** What the tflite app's page is given: the convnet's stored input and the detector's test images (uint8 RGB). */
export function tfliteInputs(): TfliteInputs {
  const spec = fixture('convnet')
  const io = readJson<{ inputs: Record<string, JsonTensor> }>(spec.path(spec.io!))
  const images = readJson<{ input: JsonTensor }[]>(fixture('detector').path('images.json'))
  return {
    convnetInput: { data: [...floats(io.inputs.input!)], shape: io.inputs.input!.shape },
    images: images.map((image) => [...Buffer.from(image.input.data as string, 'base64')]),
  }
}

/** Runs in the page (serialized by the browser driver, so it uses nothing from this module). */
export async function runTfliteModels({ convnetInput, images }: TfliteInputs): Promise<TfliteResults> {
  const { convnet, detector } = (window as unknown as { models: Record<string, { load(o?: object): Promise<any> }> }).models
  const progress: number[] = []
  const classifier = await convnet!.load({ onProgress: (f: number) => progress.push(f) })
  const probs = await classifier.run({ input: convnetInput })
  const heads = await detector!.load()
  const detected = []
  for (const image of images) {
    // An image source: ImageData of the stored uint8 pixels, with an opaque alpha channel.
    const rgba = new Uint8ClampedArray(64 * 64 * 4)
    for (let i = 0; i < 64 * 64; i++) {
      rgba.set(image.slice(3 * i, 3 * i + 3), 4 * i)
      rgba[4 * i + 3] = 255
    }
    const out = await heads.run({ image_tensor: new ImageData(rgba, 64, 64) })
    detected.push(Object.fromEntries(Object.entries(out).map(([k, v]: [string, any]) => [k, { shape: v.shape, data: [...v.data] }])))
  }
  classifier.dispose()
  heads.dispose()
  return { backend: classifier.backend, progress, probs: [...probs.probs.data], logits: [...probs.logits.data], detected }
}

/** The page's results against TensorFlow's stored outputs for the convnet and the detector heads. */
export function expectTensorflowOutputs(result: TfliteResults): void {
  const spec = fixture('convnet')
  const io = readJson<{ outputs: Record<string, JsonTensor> }>(spec.path(spec.io!))
  expect(result.backend).toBe('wasm')
  expect(result.progress.at(-1)).toBe(1)
  expect(closeness(result.probs, floats(io.outputs.probs!))).toBeLessThanOrEqual(1)
  expect(closeness(result.logits, floats(io.outputs.logits!))).toBeLessThanOrEqual(1)
  const expected = tensorflowHeads(HEADS)
  for (const [i, heads] of result.detected.entries()) {
    for (const head of HEADS) {
      const want = expected[i]![head]!
      expect(heads[head]!.shape, `image ${i} ${head}`).toEqual(want.shape)
      expect(closeness(heads[head]!.data, floats(want)), `image ${i} ${head}`).toBeLessThanOrEqual(1)
    }
  }
}
