// Entry A of a two-entry app: the convnet checkpoint, quantized.
import model from '../../../../fixtures/convnet/model.ckpt?quantize'

export { model }
