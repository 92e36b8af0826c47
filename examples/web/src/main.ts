// The example app: pick (or drop) an image, detect shapes, draw them. The
// same detector comes two ways, switched by ?format=: a TF.js graph model with
// uint8 weights (the default), or a .tflite run by LiteRT.js (?format=tflite),
// which stops at the raw heads and is decoded in ssd.ts. The .tflite is full
// integer (int8 weights and activations, calibrated at build time on the
// detector's test images), or ?quantize=int8 (int8 weights, float compute)
// or ?quantize=float32; ?format=tflite&compare runs all three side by side.
// Each runtime is loaded by its model import, lazily: a page downloads one.
import type { BackendName } from 'unplugin-tfmodel/runtime'

import detector from '../../../fixtures/detector/model.ckpt?quantize'
import { type Detection, draw, toDetections } from './detections.js'
import { images } from './images.js'
import { type Decoded, postprocess } from './ssd.js'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const params = new URLSearchParams(location.search)

function formatBytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(2)} MB`
}

function showError(error: unknown): void {
  const message = error instanceof Error ? `${(error as { code?: string }).code ?? 'ERROR'}: ${error.message}` : String(error)
  $('error').textContent = message
  $('error').hidden = false
  document.body.dataset.state = 'error'
}

/** The detector's heads as .tflite files, by quantization. A build may
 * leave all but full int8 out (examples/capacitor does), so each is a dynamic
 * import its build keeps or drops. */
const TFLITE = {
  'int8-full': () => import('../../../fixtures/detector/model.ckpt?format=tflite&quantize=int8-full&calibration=images&outputs=box_encodings,class_predictions'),
  ...(__ALL_TFLITE_VARIANTS__ && {
    int8: () => import('../../../fixtures/detector/model.ckpt?format=tflite&quantize=int8&outputs=box_encodings,class_predictions'),
    float32: () => import('../../../fixtures/detector/model.ckpt?format=tflite&outputs=box_encodings,class_predictions'),
  }),
}
type Variant = keyof typeof TFLITE
const VARIANT_NAMES: Record<string, string> = { 'int8-full': 'full int8', int8: 'dynamic-range int8', float32: 'float32' }

async function tfliteHeads(variant: Variant) {
  const load = TFLITE[variant]
  if (!load) throw new Error(`this build has no ${variant} .tflite (it has ${Object.keys(TFLITE).join(', ')})`)
  return (await load()).default
}

// For the browser console (and the end-to-end tests): the model imports themselves.
Object.assign(globalThis, { example: { detector, tfliteHeads } })

type Image = HTMLImageElement | ImageBitmap

/** Loads the detector in the chosen format; returns its runtime, backend and a function from image to detections. */
async function loadDetector(variant: Variant | undefined, onProgress?: (fraction: number) => void): Promise<{ runtime: string; backend: string; detect: (image: Image) => Promise<Decoded> }> {
  const backend = (params.get('backend') as BackendName | null) ?? undefined
  const options = { ...(backend && { backend }), cache: true, onProgress }
  if (variant) {
    const model = await (await tfliteHeads(variant)).load(options)
    return {
      runtime: 'LiteRT.js',
      backend: model.backend,
      detect: async (image) => {
        const out = await model.run({ image_tensor: image })
        return postprocess(out.box_encodings.data, out.class_predictions.data)
      },
    }
  }
  const model = await detector.load(options)
  return {
    runtime: 'TF.js',
    backend: model.backend,
    detect: async (image) => {
      const out = await model.run({ image_tensor: image })
      const count = Math.round(out.num_detections.data[0]!)
      return { boxes: out.detection_boxes.data, scores: out.detection_scores.data, classes: out.detection_classes.data, count }
    },
  }
}

/** Bytes this page has downloaded so far (model, runtime and app), from Resource Timing. */
function pageBytes(): number {
  const entries = performance.getEntriesByType('resource') as PerformanceResourceTiming[]
  const navigation = performance.getEntriesByType('navigation') as PerformanceResourceTiming[]
  return [...navigation, ...entries].reduce((sum, e) => sum + (e.encodedBodySize || 0), 0)
}

/** What a model's file costs: its bytes, and what its weights take as float32. */
function describeSize(sizes: { total: number; float32Weights: number; modelJson: number }, encoding: string, tflite: boolean): string {
  // A .tflite holds its weights; a TF.js model.json only describes them.
  const float32 = sizes.float32Weights + (tflite ? 0 : sizes.modelJson)
  return `${formatBytes(sizes.total)} ${encoding} (${formatBytes(float32)} as float32)`
}

/** Each .tflite of the build on `image`, one after another: size, load and inference time, detections. */
async function compare(image: Image): Promise<void> {
  const rows = []
  for (const variant of Object.keys(TFLITE) as Variant[]) {
    const heads = await tfliteHeads(variant)
    const started = performance.now()
    const model = await loadDetector(variant)
    const loadMs = performance.now() - started
    await model.detect(image) // the first run compiles
    const runStarted = performance.now()
    const out = await model.detect(image)
    const runMs = performance.now() - runStarted
    const detections = toDetections(out.boxes, out.scores, out.classes, out.count)
    const cells = [VARIANT_NAMES[variant]!, formatBytes(heads.sizes.total), `${loadMs.toFixed(0)} ms`, `${runMs.toFixed(1)} ms`, detections.map((d) => `${d.label} ${(d.score * 100).toFixed(0)}%`).join(', ')]
    const row = document.createElement('tr')
    row.dataset.variant = variant
    row.dataset.detections = JSON.stringify(detections)
    row.replaceChildren(...cells.map((text) => Object.assign(document.createElement('td'), { textContent: text })))
    rows.push(row)
  }
  $('variants-body').replaceChildren(...rows)
  $('variants').hidden = false
  document.body.dataset.compared = 'done'
}

async function main(): Promise<void> {
  const tflite = params.get('format') === 'tflite'
  const variant = tflite ? ((params.get('quantize') ?? 'int8-full') as Variant) : undefined
  document.body.dataset.format = tflite ? 'tflite' : 'tfjs'
  const sizes = variant ? (await tfliteHeads(variant)).sizes : detector.sizes
  $('size').textContent = describeSize(sizes, variant ? `${VARIANT_NAMES[variant] ?? variant} .tflite` : 'uint8 TF.js', tflite)

  const started = performance.now()
  const model = await loadDetector(variant, (fraction) => (($('progress') as HTMLProgressElement).value = fraction))
  $('load-time').textContent = `${(performance.now() - started).toFixed(0)} ms`
  $('progress-label').textContent = 'Model loaded'
  $('runtime').textContent = model.runtime
  $('backend').textContent = model.backend

  // One detection at a time: quick clicks queue up instead of drawing out of order.
  let queue = Promise.resolve()
  function detect(image: Image): Promise<void> {
    queue = queue.then(() => detectNow(image)).catch(showError)
    return queue
  }

  async function detectNow(image: Image): Promise<void> {
    document.body.dataset.state = 'running'
    const runStarted = performance.now()
    const out = await model.detect(image)
    $('inference-time').textContent = `${(performance.now() - runStarted).toFixed(1)} ms`
    $('page-size').textContent = formatBytes(pageBytes())
    const detections = toDetections(out.boxes, out.scores, out.classes, out.count)
    draw($('canvas'), image, detections)
    show(detections)
    document.body.dataset.state = 'done'
  }

  function show(detections: Detection[]): void {
    $('list').replaceChildren(
      ...detections.map((d) => {
        const item = document.createElement('li')
        item.textContent = `${d.label}: ${(d.score * 100).toFixed(1)}%`
        return item
      }),
    )
    $('detections').textContent = JSON.stringify(detections)
  }

  const buttons = images.map((src, index) => {
    const button = document.createElement('button')
    button.setAttribute('aria-label', `Test image ${index + 1}`)
    const img = new Image()
    img.src = src
    button.append(img)
    button.addEventListener('click', () => void select(index).catch(showError))
    return button
  })
  $('thumbnails').replaceChildren(...buttons)

  async function select(index: number): Promise<void> {
    buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(i === index)))
    const img = buttons[index]!.querySelector('img')!
    await img.decode()
    await detect(img)
  }

  async function detectFile(file: File): Promise<void> {
    buttons.forEach((b) => b.setAttribute('aria-pressed', 'false'))
    const bitmap = await createImageBitmap(file)
    await detect(bitmap)
    bitmap.close()
  }

  $<HTMLInputElement>('file').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0]
    if (file) detectFile(file).catch(showError)
  })
  const drop = $('drop')
  drop.addEventListener('dragover', (event) => {
    event.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (event) => {
    event.preventDefault()
    drop.classList.remove('over')
    const file = event.dataTransfer?.files[0]
    if (file) detectFile(file).catch(showError)
  })

  await select(Number(params.get('image') ?? 0))
  if (tflite && params.has('compare')) await compare(buttons[Number(params.get('image') ?? 0)]!.querySelector('img')!)
}

main().catch(showError)
