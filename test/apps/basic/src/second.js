// A second importer of the same model with the same directives: converted once.
import model from '../../../../fixtures/convnet/model.ckpt?quantize'

export const again = model
