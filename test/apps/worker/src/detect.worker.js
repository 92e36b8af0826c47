// Runs the detector off the main thread: the page posts an ImageBitmap or
// ImageData, the worker answers with the boxes scored at least `minScore`.
import detector from '../../../../fixtures/detector/model.ckpt?quantize'
// Provided by a worker plugin of the app's own, which must survive ours.
import { minScore } from 'virtual:detect-settings'

let loading

self.onmessage = async ({ data }) => {
  try {
    loading ??= detector.load(data.backend ? { backend: data.backend } : {})
    const model = await loading
    const out = await model.run({ image_tensor: data.image })
    data.image.close?.()
    const boxes = out.detection_boxes.data
    const scores = out.detection_scores.data
    const classes = out.detection_classes.data
    const detections = []
    for (let i = 0; i < Math.round(out.num_detections.data[0]); i++) {
      if (scores[i] < minScore) continue
      detections.push({ classId: Math.round(classes[i]), score: scores[i], box: [...boxes.subarray(4 * i, 4 * i + 4)] })
    }
    self.postMessage({ id: data.id, backend: model.backend, detections })
  } catch (error) {
    self.postMessage({ id: data.id, error: { code: error.code, message: error.message } })
  }
}
