"""Reads the hello-world dataset back with ``make_reader`` (Petastorm's reading example,
unchanged). Usage: ``python_hello_world.py [dataset_url]``."""
import sys

from petastorm import make_reader


def python_hello_world(dataset_url='file:///tmp/hello_world_dataset'):
    with make_reader(dataset_url) as reader:
        # Pure python
        for sample in reader:
            print(sample.id)
            print(sample.image1.shape, sample.image1.dtype, sample.other_data.shape)


if __name__ == '__main__':
    python_hello_world(*sys.argv[1:2])
