// The page decodes the detector's test images and hands each to the worker
// twice, as an ImageBitmap and as ImageData; it never loads TF.js itself.
import image0 from '../../../../fixtures/detector/images/test-0.png'
import image1 from '../../../../fixtures/detector/images/test-1.png'
import image2 from '../../../../fixtures/detector/images/test-2.png'
import image3 from '../../../../fixtures/detector/images/test-3.png'

const worker = new Worker(new URL('./detect.worker.js', import.meta.url), { type: 'module' })
const backend = new URLSearchParams(location.search).get('backend') ?? undefined

let nextId = 0
const pending = new Map()
worker.onmessage = ({ data }) => {
  const { resolve, reject } = pending.get(data.id)
  pending.delete(data.id)
  if (data.error) reject(Object.assign(new Error(data.error.message), { code: data.error.code }))
  else resolve(data)
}
worker.onerror = (event) => fail(new Error(`the worker failed to start: ${event.message ?? 'no message'}`))

function detect(image) {
  const id = nextId++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    // An ImageBitmap moves to the worker; ImageData is copied.
    worker.postMessage({ id, image, backend }, image instanceof ImageBitmap ? [image] : [])
  })
}

function pixels(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height)
  const context = canvas.getContext('2d')
  context.drawImage(bitmap, 0, 0)
  return context.getImageData(0, 0, bitmap.width, bitmap.height)
}

function fail(error) {
  document.getElementById('result').textContent = `${error.code ?? 'ERROR'}: ${error.message}`
  document.body.dataset.state = 'error'
}

async function main() {
  const results = []
  for (const [index, url] of [image0, image1, image2, image3].entries()) {
    const blob = await (await fetch(url)).blob()
    const imageData = pixels(await createImageBitmap(blob))
    for (const [input, image] of [['ImageBitmap', await createImageBitmap(blob)], ['ImageData', imageData]]) {
      const { backend, detections } = await detect(image)
      results.push({ index, input, backend, detections })
    }
  }
  document.getElementById('result').textContent = JSON.stringify(results)
  document.body.dataset.state = 'done'
}

main().catch(fail)
