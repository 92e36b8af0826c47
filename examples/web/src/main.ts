// The example app: pick (or drop) an image, detect shapes, draw them. The
// same detector comes two ways, switched by ?format=: a TF.js graph model with
// uint8 weights (the default), or a .tflite with int8 weights run by LiteRT.js
// (?format=tflite), which stops at the raw heads and is decoded in ssd.ts.
// Each runtime is loaded by its model import, lazily: a page downloads one.
import type { BackendName } from 'unplugin-tfmodel/runtime'

import detector from '../../../fixtures/detector/model.ckpt?quantize'
import detectorHeads from '../../../fixtures/detector/model.ckpt?format=tflite&quantize=int8&outputs=box_encodings,class_predictions'
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

// For the browser console (and the end-to-end tests): the model imports themselves.
Object.assign(globalThis, { example: { detector, detectorHeads } })

type Image = HTMLImageElement | ImageBitmap

/** Loads the detector in the chosen format; returns its runtime, backend and a function from image to detections. */
async function loadDetector(tflite: boolean): Promise<{ runtime: string; backend: string; detect: (image: Image) => Promise<Decoded> }> {
  const backend = (params.get('backend') as BackendName | null) ?? undefined
  const options = {
    ...(backend && { backend }),
    cache: true,
    onProgress: (fraction: number) => (($('progress') as HTMLProgressElement).value = fraction),
  }
  if (tflite) {
    const model = await detectorHeads.load(options)
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

async function main(): Promise<void> {
  const tflite = params.get('format') === 'tflite'
  document.body.dataset.format = tflite ? 'tflite' : 'tfjs'
  const { sizes } = tflite ? detectorHeads : detector
  const encoding = tflite ? 'int8 .tflite' : 'uint8 TF.js'
  // A .tflite holds its weights; a TF.js model.json only describes them.
  const float32 = sizes.float32Weights + (tflite ? 0 : sizes.modelJson)
  $('size').textContent = `${formatBytes(sizes.total)} ${encoding} (${formatBytes(float32)} as float32)`

  const started = performance.now()
  const model = await loadDetector(tflite)
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
}

main().catch(showError)
