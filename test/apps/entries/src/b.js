// Entry B: a training directory, written with a trailing slash (the spelling
// unplugin-tfmodel/client types before any build), and a model URL.
import train from '../../../../fixtures/train_dir/'
import detectorUrl from '../../../../fixtures/detector/model.ckpt?url'

export { detectorUrl, train }
