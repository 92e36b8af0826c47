// The example app: pick (or drop) an image, detect shapes, draw them.
// TensorFlow.js and its backends are loaded by the model import, lazily.
import type { BackendName } from 'unplugin-tfmodel/runtime'

import detector from '../../../fixtures/detector/model.ckpt?quantize'
import { type Detection, draw, toDetections } from './detections.js'
import { images } from './images.js'

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

// For the browser console (and the end-to-end tests): the model import itself.
Object.assign(globalThis, { example: { detector } })

async function main(): Promise<void> {
  const { sizes } = detector
  $('size').textContent = `${formatBytes(sizes.total)} quantized (${formatBytes(sizes.float32Weights + sizes.modelJson)} as float32)`

  const started = performance.now()
  const backend = (params.get('backend') as BackendName | null) ?? undefined
  const model = await detector.load({
    ...(backend && { backend }),
    cache: true,
    onProgress: (fraction) => ($('progress') as HTMLProgressElement).value = fraction,
  })
  $('load-time').textContent = `${(performance.now() - started).toFixed(0)} ms`
  $('progress-label').textContent = 'Model loaded'
  $('backend').textContent = model.backend

  // One detection at a time: quick clicks queue up instead of drawing out of order.
  let queue = Promise.resolve()
  function detect(image: HTMLImageElement | ImageBitmap): Promise<void> {
    queue = queue.then(() => detectNow(image)).catch(showError)
    return queue
  }

  async function detectNow(image: HTMLImageElement | ImageBitmap): Promise<void> {
    document.body.dataset.state = 'running'
    const runStarted = performance.now()
    const out = await model.run({ image_tensor: image })
    $('inference-time').textContent = `${(performance.now() - runStarted).toFixed(1)} ms`
    const detections = toDetections(
      out.detection_boxes.data,
      out.detection_scores.data,
      out.detection_classes.data,
      Math.round(out.num_detections.data[0]!),
    )
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
