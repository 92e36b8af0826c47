// The bundled test images (written by fixtures/generate.py), as asset URLs.
import image0 from '../../../fixtures/detector/images/test-0.png'
import image1 from '../../../fixtures/detector/images/test-1.png'
import image2 from '../../../fixtures/detector/images/test-2.png'
import image3 from '../../../fixtures/detector/images/test-3.png'

export const images: string[] = [image0, image1, image2, image3]
