// Turns the detector's padded outputs into a list of boxes, and draws them.

export const CLASSES = ['background', 'circle', 'square', 'triangle'] as const
const COLORS = ['#9e9e9e', '#e53935', '#1e88e5', '#43a047']

export interface Detection {
  /** 1-based class id, as the model outputs it. */
  classId: number
  label: string
  score: number
  /** ymin, xmin, ymax, xmax, normalized to [0, 1]. */
  box: [number, number, number, number]
}

export function toDetections(
  boxes: Float32Array,
  scores: Float32Array,
  classes: Float32Array,
  count: number,
  minScore = 0.5,
): Detection[] {
  const detections: Detection[] = []
  for (let i = 0; i < count; i++) {
    if (scores[i]! < minScore) continue
    const classId = Math.round(classes[i]!)
    detections.push({
      classId,
      label: CLASSES[classId] ?? `class ${classId}`,
      score: scores[i]!,
      box: [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!],
    })
  }
  return detections
}

export function draw(canvas: HTMLCanvasElement, image: CanvasImageSource, detections: Detection[]): void {
  const context = canvas.getContext('2d')!
  const { width, height } = canvas
  context.imageSmoothingEnabled = false
  context.clearRect(0, 0, width, height)
  context.drawImage(image, 0, 0, width, height)
  context.lineWidth = 3
  context.font = '600 15px system-ui, sans-serif'
  for (const d of detections) {
    const [ymin, xmin, ymax, xmax] = d.box
    const color = COLORS[d.classId] ?? '#ff6f00'
    context.strokeStyle = color
    context.strokeRect(xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height)
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`
    const textWidth = context.measureText(text).width + 8
    const y = Math.max(ymin * height - 20, 0)
    context.fillStyle = color
    context.fillRect(xmin * width, y, textWidth, 20)
    context.fillStyle = '#fff'
    context.fillText(text, xmin * width + 4, y + 15)
  }
}
