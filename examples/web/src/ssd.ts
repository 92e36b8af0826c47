// The detector's post-processing in JavaScript, for its TFLite build: TFLite
// has no builtin for the NMS, so that build stops at the raw heads (as the
// Object Detection API's TFLite export does) and the app decodes them. This is
// what the graph's Postprocessor scope computes: boxes decoded against the
// anchors, softmax scores, greedy NMS on the best non-background class.

/** The detector's anchor layout: (grid, anchor sizes in pixels) per feature map, on a 64 px input. */
const FEATURES: [number, number[]][] = [
  [8, [12, 17, 23]],
  [4, [28, 38, 50]],
]
const INPUT_SIZE = 64
/** The box coder's scale factors (ty, tx, th, tw). */
const SCALE = [10, 10, 5, 5]
const MAX_DETECTIONS = 10
const IOU_THRESHOLD = 0.5
const SCORE_THRESHOLD = 0.3

/** Anchors (ycenter, xcenter, h, w), normalized, in the heads' order: feature map, row, column, size. */
const ANCHORS: number[][] = FEATURES.flatMap(([grid, sizes]) =>
  Array.from({ length: grid * grid }, (_, cell) => {
    const [i, j] = [Math.floor(cell / grid), cell % grid]
    return sizes.map((s) => [(i + 0.5) / grid, (j + 0.5) / grid, s / INPUT_SIZE, s / INPUT_SIZE])
  }).flat(),
)

export interface Decoded {
  boxes: Float32Array
  scores: Float32Array
  classes: Float32Array
  count: number
}

/** `box_encodings` [1, A, 4] and `class_predictions` [1, A, K + 1] to the graph's padded detections. */
export function postprocess(encodings: Float32Array, logits: Float32Array): Decoded {
  const anchors = ANCHORS.length
  const classes = logits.length / anchors
  const boxes: number[][] = []
  const best: { score: number; classId: number }[] = []
  for (let a = 0; a < anchors; a++) {
    const [yc, xc, h, w] = ANCHORS[a]!
    const rel = [0, 1, 2, 3].map((k) => encodings[4 * a + k]! / SCALE[k]!)
    const [cy, cx, sh, sw] = [rel[0]! * h + yc, rel[1]! * w + xc, Math.exp(rel[2]!) * h, Math.exp(rel[3]!) * w]
    const clip = (v: number) => Math.min(1, Math.max(0, v))
    boxes.push([clip(cy - sh / 2), clip(cx - sw / 2), clip(cy + sh / 2), clip(cx + sw / 2)])
    const row = logits.subarray(a * classes, (a + 1) * classes)
    const max = Math.max(...row)
    const exps = Array.from(row, (v) => Math.exp(v - max))
    const sum = exps.reduce((s, v) => s + v, 0)
    let classId = 1
    for (let k = 2; k < classes; k++) if (exps[k]! > exps[classId]!) classId = k
    best.push({ score: exps[classId]! / sum, classId })
  }
  const order = best.map((_, a) => a).filter((a) => best[a]!.score > SCORE_THRESHOLD)
  order.sort((p, q) => best[q]!.score - best[p]!.score)
  const selected: number[] = []
  for (const a of order) {
    if (selected.length === MAX_DETECTIONS) break
    if (selected.every((s) => iou(boxes[s]!, boxes[a]!) <= IOU_THRESHOLD)) selected.push(a)
  }
  const out: Decoded = {
    boxes: new Float32Array(MAX_DETECTIONS * 4),
    scores: new Float32Array(MAX_DETECTIONS),
    classes: new Float32Array(MAX_DETECTIONS),
    count: selected.length,
  }
  selected.forEach((a, i) => {
    out.boxes.set(boxes[a]!, 4 * i)
    out.scores[i] = best[a]!.score
    out.classes[i] = best[a]!.classId
  })
  return out
}

function iou(a: number[], b: number[]): number {
  const area = (r: number[]) => Math.max(0, r[2]! - r[0]!) * Math.max(0, r[3]! - r[1]!)
  const inter = area([Math.max(a[0]!, b[0]!), Math.max(a[1]!, b[1]!), Math.min(a[2]!, b[2]!), Math.min(a[3]!, b[3]!)])
  const union = area(a) + area(b) - inter
  return union > 0 ? inter / union : 0
}
