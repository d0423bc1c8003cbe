"""The per-row augmentation of bench_transforms.py: random crop, random horizontal flip, normalise to
float32 (ImageNet mean/std), in NumPy. Imported by name by both venvs' readers and their worker
processes (so it imports only NumPy and must stay importable from this folder)."""
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255


def _augment(image, height, width):
    y = np.random.randint(0, image.shape[0] - height + 1)
    x = np.random.randint(0, image.shape[1] - width + 1)
    crop = image[y:y + height, x:x + width]
    if np.random.rand() < 0.5:
        crop = crop[:, ::-1]
    return (crop.astype(np.float32) - MEAN) / STD


def hello(row):
    row['image1'] = _augment(row['image1'], 112, 224)
    return row


def jpeg(row):
    row['image'] = _augment(row['image'], 200, 200)
    return row


# _upstream_side case: (TransformSpec func, edit_fields)
SPECS = {'hello_aug': (hello, [('image1', np.float32, (112, 224, 3), False)]),
         'jpeg_aug': (jpeg, [('image', np.float32, (200, 200, 3), False)])}
