// Runs the float detector on each kind of image source `run()` accepts, made
// from each of the detector's test images; the test calls `runSources(backend)`.
import detector from '../../../../fixtures/detector/model.ckpt'
import image0 from '../../../../fixtures/detector/images/test-0.png'
import image1 from '../../../../fixtures/detector/images/test-1.png'
import image2 from '../../../../fixtures/detector/images/test-2.png'
import image3 from '../../../../fixtures/detector/images/test-3.png'

const urls = [image0, image1, image2, image3]
const shown = document.getElementById('shown')

async function loadImage(url) {
  const image = new Image()
  image.src = url
  await image.decode()
  return image
}

function canvasOf(image) {
  const canvas = document.createElement('canvas')
  canvas.width = image.naturalWidth
  canvas.height = image.naturalHeight
  canvas.getContext('2d').drawImage(image, 0, 0)
  return canvas
}

function imageDataOf(image) {
  return canvasOf(image).getContext('2d').getImageData(0, 0, image.naturalWidth, image.naturalHeight)
}

/** The image as the page shows it: 256 CSS pixels wide, so `width` is 256, not its natural 64. */
async function displayed(image) {
  const copy = await loadImage(image.src)
  copy.style.width = copy.style.height = '256px'
  shown.append(copy)
  return copy
}

/** Every pixel doubled both ways (nearest neighbour), as a PNG image 128 pixels wide. */
async function upscaled(image) {
  const small = imageDataOf(image)
  const { width, height } = small
  const big = new ImageData(2 * width, 2 * height)
  for (let y = 0; y < 2 * height; y++) {
    for (let x = 0; x < 2 * width; x++) {
      const from = 4 * (Math.floor(y / 2) * width + Math.floor(x / 2))
      big.data.set(small.data.subarray(from, from + 4), 4 * (y * 2 * width + x))
    }
  }
  const canvas = document.createElement('canvas')
  canvas.width = big.width
  canvas.height = big.height
  canvas.getContext('2d').putImageData(big, 0, 0)
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'))
  return loadImage(URL.createObjectURL(blob))
}

/** A playing `<video>` whose frames are the image (a canvas stream), shown at 256 CSS pixels. */
async function video(image) {
  const canvas = canvasOf(image)
  const stream = canvas.captureStream()
  // A canvas stream sends a frame when the canvas is painted: keep painting until one arrives.
  const paint = setInterval(() => canvas.getContext('2d').drawImage(image, 0, 0), 20)
  const element = document.createElement('video')
  element.muted = true
  element.style.width = '256px'
  element.srcObject = stream
  shown.append(element)
  await element.play()
  await new Promise((resolve) => element.requestVideoFrameCallback(resolve))
  clearInterval(paint)
  return element
}

const SOURCES = {
  image: async (image) => image,
  displayed,
  canvas: async (image) => canvasOf(image),
  offscreenCanvas: async (image) => {
    const canvas = new OffscreenCanvas(image.naturalWidth, image.naturalHeight)
    canvas.getContext('2d').drawImage(image, 0, 0)
    return canvas
  },
  imageData: async (image) => imageDataOf(image),
  imageBitmap: (image) => createImageBitmap(image),
  video,
  upscaled,
}

function detections(out) {
  const boxes = out.detection_boxes.data
  const scores = out.detection_scores.data
  const classes = out.detection_classes.data
  const found = []
  for (let i = 0; i < Math.round(out.num_detections.data[0]); i++) {
    if (scores[i] < 0.5) continue
    found.push({ classId: Math.round(classes[i]), score: scores[i], box: [...boxes.subarray(4 * i, 4 * i + 4)] })
  }
  return found
}

/** What `run()` says when it is given `source`: its error's code and subject. */
async function failure(model, source) {
  try {
    await model.run({ image_tensor: source })
    return null
  } catch (error) {
    return { code: error.code, subject: error.subject, message: error.message }
  }
}

globalThis.runSources = async (backend) => {
  const model = await detector.load({ backend })
  const images = await Promise.all(urls.map(loadImage))
  const results = []
  for (const [index, image] of images.entries()) {
    for (const [kind, make] of Object.entries(SOURCES)) {
      const source = await make(image)
      const out = await model.run({ image_tensor: source })
      results.push({ index, kind, width: source.width, detections: detections(out) })
      source.srcObject?.getTracks().forEach((track) => track.stop())
      source.close?.()
    }
  }
  shown.replaceChildren()
  const errors = {
    video: await failure(model, document.createElement('video')),
    image: await failure(model, new Image()),
  }
  const pixels = images.map((image) => Array.from(imageDataOf(image).data.filter((_, i) => i % 4 !== 3)))
  model.dispose()
  return { backend: model.backend, results, errors, pixels }
}

document.body.dataset.state = 'ready'
